package network

import (
	"net"
	"strconv"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// ListeningURIs lists the dpc:// URIs of what the transports listen on:
// the URIs a transport reports, with the node_id added, or else URIs made
// from its bound addresses.
func ListeningURIs(ls []Listening, nodeID string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range ls {
		var uris []string
		for _, raw := range l.URIs {
			if a, err := dpcuri.ParseAddress(raw); err == nil {
				uris = append(uris, a.WithNodeID(nodeID).String())
			}
		}
		if len(l.URIs) == 0 {
			uris = NodeURIs(l.Addresses, nodeID)
		}
		for _, u := range uris {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out
}

// NodeURIs lists the dpc:// URIs of this machine for the listen addresses:
// a wildcard host expands to every interface address of its family
// (link-local addresses are left out: they need a zone to be dialed).
func NodeURIs(listen []string, nodeID string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ip net.IP, host string, port int) {
		if ip != nil {
			host = ip.String()
		}
		u := dpcuri.URI{Host: host, Port: port, NodeID: nodeID}.String()
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, l := range listen {
		host, portStr, err := net.SplitHostPort(l)
		if err != nil {
			continue
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsUnspecified() {
			add(ip, host, port)
			continue
		}
		want4 := ip.To4() != nil
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || (ipn.IP.To4() != nil) != want4 {
				continue
			}
			add(ipn.IP, "", port)
		}
	}
	return out
}
