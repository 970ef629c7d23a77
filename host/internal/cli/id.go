package cli

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// idJSON is what `dpc id --json` prints.
type idJSON struct {
	NodeID      string `json:"node_id"`
	Name        string `json:"name,omitempty"`
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
	// Running says whether the node runs; Addresses are the dpc:// URIs it
	// listens on (none when it does not run).
	Running   bool     `json:"running"`
	Addresses []string `json:"addresses"`
}

func newIDCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Show this node's id, fingerprint and the dpc:// addresses it listens on",
		Long: `id shows the node_id and the fingerprint to compare out of band and, when
the node runs, the dpc:// URIs it actually listens on (asked from the
running node); when it does not run, it says so: no address listens then.`,
		Args: cobra.NoArgs,
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
			c, err := api.Dial(d.APISocket(), d.APIToken())
			var info api.NodeInfo
			if err == nil {
				err = c.Get(cmd.Context(), "/v1/node", &info)
			}
			if asJSON {
				if err != nil && !errors.Is(err, api.ErrNotRunning) {
					return err
				}
				return printJSON(out, idJSON{NodeID: id.NodeID, Name: cfg.Node.Name, Key: string(id.KeyType),
					Fingerprint: id.Fingerprint(), Running: err == nil, Addresses: nonNil(listeningURIs(info.Listening, id.NodeID))})
			}
			fmt.Fprintf(out, "node_id      %s\n", id.NodeID)
			if cfg.Node.Name != "" {
				fmt.Fprintf(out, "name         %s\n", cfg.Node.Name)
			}
			fmt.Fprintf(out, "key          %s\n", id.KeyType)
			fmt.Fprintf(out, "fingerprint  %s\n", id.Fingerprint())
			switch {
			case errors.Is(err, api.ErrNotRunning):
				fmt.Fprintln(out, "addresses    none: the node is not running (start it with `dpc run`)")
				return nil
			case err != nil:
				return err
			}
			uris := listeningURIs(info.Listening, id.NodeID)
			if len(uris) == 0 {
				fmt.Fprintln(out, "addresses    none: the node runs but no transport listens")
				return nil
			}
			fmt.Fprintln(out, "addresses    (the running node listens on)")
			for _, u := range uris {
				fmt.Fprintf(out, "  %s\n", u)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node_id, name, key, fingerprint, whether the node runs and the addresses it listens on as a JSON object")
	return cmd
}

// listeningURIs lists the dpc:// URIs of what the transports listen on:
// the URIs a transport reports, with the node_id added, or else URIs made
// from its bound addresses.
func listeningURIs(ls []network.Listening, nodeID string) []string {
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
			uris = nodeURIs(l.Addresses, nodeID)
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
