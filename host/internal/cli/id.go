package cli

import (
	"fmt"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/identity"
)

func newIDCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "Show this node's id, dpc:// addresses and fingerprint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, cfg, err := g.load(nil, nil)
			if err != nil {
				return err
			}
			id, err := identity.Load(d.Identity())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "node_id      %s\n", id.NodeID)
			if cfg.Node.Name != "" {
				fmt.Fprintf(out, "name         %s\n", cfg.Node.Name)
			}
			fmt.Fprintf(out, "key          %s\n", id.KeyType)
			fmt.Fprintf(out, "fingerprint  %s\n", id.Fingerprint())
			fmt.Fprintln(out, "addresses")
			for _, u := range nodeURIs(cfg.Node.Listen, id.NodeID) {
				fmt.Fprintf(out, "  %s\n", u)
			}
			return nil
		},
	}
}

// nodeURIs lists the dpc:// URIs of this machine for the listen addresses:
// a wildcard host expands to every interface address of its family
// (link-local addresses are left out: they need a zone to be dialed).
func nodeURIs(listen []string, nodeID string) []string {
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
