package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

func newConnectCmd(g *globals) *cobra.Command {
	var v1 bool
	cmd := &cobra.Command{
		Use:   "connect dpc://HOST:PORT?node_id=ID | NODE_ID",
		Short: "Add a peer as a contact and connect to it",
		Long: `connect adds the node at the URI as a contact and dials it. The peer must
prove, over TLS, that it holds the key whose hash is the node_id in the URI.
If it cannot be reached now, dpc keeps trying in the background. If the node
at that address turns out to be someone else, connect fails and the new
contact is not kept.

Given a node_id alone, dpc reaches the node over whatever path works: the
direct addresses its hub profile publishes first, then WebRTC through the
hub (plugin "transport" "transport-webrtc" and a hub login are needed).
The hub only helps set the connection up: the peer still proves its key.

--v1 marks the peer as a D-PC Messenger (Python) node: only then does dpc
use D-PC v1's weaker handshake with it (node { dpc_v1 = true } and an RSA
identity are needed). A node that ever spoke dptp/1 with yours is never
accepted over D-PC v1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var resp api.ConnectResponse
			if err := c.Post(cmd.Context(), "/v1/peers", api.ConnectRequest{URI: args[0], V1: v1}, &resp); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if resp.Error != "" {
				fmt.Fprintf(out, "Added %s as a contact, but it is not reachable yet: %s\ndpc keeps trying in the background.\n", resp.Peer.NodeID, textsafe.Line(resp.Error))
				return nil
			}
			fmt.Fprintf(out, "Connected to %s", resp.Peer.NodeID)
			if resp.Peer.Name != "" {
				fmt.Fprintf(out, " (%s)", textsafe.Line(resp.Peer.Name))
			}
			fmt.Fprintln(out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&v1, "v1", false, "the peer is a D-PC Messenger v1 (Python) node")
	return cmd
}

// peersJSON is what `dpc peers --json` prints.
type peersJSON struct {
	Peers    []network.PeerStatus `json:"peers"`
	Refusals []network.Refusal    `json:"refusals"`
	// FirewallError says why firewall.hcl as it is now is not in force.
	FirewallError string `json:"firewall_error,omitempty"`
	// RTT holds, with --rtt, each connected peer's round trip.
	RTT []peerRTT `json:"rtt,omitempty"`
}

// peerRTT is one connected peer's round trip, or why there is none.
type peerRTT struct {
	api.RTT
	Error string `json:"error,omitempty"`
}

// measureRTT pings each connected peer of list once.
func measureRTT(ctx context.Context, c *api.Client, list []network.PeerStatus) []peerRTT {
	var out []peerRTT
	for _, p := range list {
		if p.State != "connected" {
			continue
		}
		r := peerRTT{RTT: api.RTT{Peer: p.NodeID}}
		if err := c.Get(ctx, "/v1/peers/"+p.NodeID+"/rtt", &r.RTT); err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out
}

// printRTT prints the round trips measured by measureRTT.
func printRTT(w io.Writer, rtts []peerRTT) {
	fmt.Fprintln(w, "\nRound trips (PING):")
	if len(rtts) == 0 {
		fmt.Fprintln(w, "  no peer is connected")
		return
	}
	for _, r := range rtts {
		if r.Error != "" {
			fmt.Fprintf(w, "  %s  -  %s\n", r.Peer, textsafe.Line(r.Error))
			continue
		}
		fmt.Fprintf(w, "  %s  %.2f ms\n", r.Peer, r.Millis)
	}
}

func newPeersCmd(g *globals) *cobra.Command {
	var asJSON, rtt bool
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List known peers, their connection state and contact requests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var list []network.PeerStatus
			if err := c.Get(cmd.Context(), "/v1/peers", &list); err != nil {
				return err
			}
			var refused []network.Refusal
			if err := c.Get(cmd.Context(), "/v1/refusals", &refused); err != nil {
				return err
			}
			var fw api.FirewallStatus
			if err := c.Get(cmd.Context(), "/v1/firewall", &fw); err != nil {
				return err
			}
			var rtts []peerRTT
			if rtt {
				rtts = measureRTT(cmd.Context(), c, list)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), peersJSON{Peers: nonNil(list), Refusals: nonNil(refused), FirewallError: fw.Error, RTT: rtts})
			}
			printFirewallProblem(cmd.ErrOrStderr(), fw)
			printPeers(cmd.OutOrStdout(), list)
			if rtt {
				printRTT(cmd.OutOrStdout(), rtts)
			}
			if len(refused) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "\nRecently refused incoming connections:")
				for _, r := range refused[max(0, len(refused)-10):] {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s %s: %s\n", r.Time.Local().Format(time.TimeOnly), textsafe.Line(r.Remote), textsafe.Line(r.Reason))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the peers, recent refusals and any firewall.hcl problem as one JSON object")
	cmd.Flags().BoolVar(&rtt, "rtt", false, "also measure the round trip to each connected peer (one PING each)")
	cmd.AddCommand(&cobra.Command{
		Use:   "remove NODE_ID",
		Short: "Forget a peer: end its session and stop dialing it (the conversation stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := c.Delete(cmd.Context(), "/v1/peers/"+id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %s.\n", id)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "accept NODE_ID",
		Short: "Accept a contact request: show its messages and let it reach you as a contact",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, id, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var st network.PeerStatus
			if err := c.Post(cmd.Context(), "/v1/peers/"+id+"/accept", nil, &st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now a contact.\n", st.NodeID)
			return nil
		},
	})
	return cmd
}

func printPeers(w io.Writer, list []network.PeerStatus) {
	if len(list) == 0 {
		fmt.Fprintln(w, "No peers yet: `dpc connect dpc://…` adds one.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAME\tRELATION\tPROTOCOL\tSTATE\tPATH\tSINCE\tREASON")
	v1 := false
	for _, p := range list {
		rel := relation(p)
		if p.Request && !p.Contact {
			rel = "REQUEST (dpc peers accept)"
		}
		since := "-"
		if !p.Since.IsZero() {
			since = p.Since.Local().Format(time.TimeOnly)
		}
		proto := orDash(p.Protocol)
		switch {
		case p.Protocol == peers.ProtocolV1:
			proto, v1 = "D-PC v1 (weaker auth*)", true
		case p.Protocol == "" && p.V1:
			proto = "D-PC v1 (marked)"
		}
		path := "-"
		if p.State == "connected" {
			path = orDash(p.Path)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.NodeID, orDash(textsafe.Line(p.Name)), rel, proto, p.State, path, since, orDash(textsafe.Line(p.Reason)))
	}
	_ = tw.Flush()
	if v1 {
		fmt.Fprintln(w, "\n* A D-PC v1 (Python D-PC Messenger) peer proves its key by signing a nonce that is not bound to the TLS\n"+
			"  channel, so its authentication is weaker than dptp/1's mutual TLS. Its node_id is still checked against its key.")
	}
}

// relation says what a peer is to this node.
func relation(p network.PeerStatus) string {
	switch {
	case p.Contact:
		return "contact"
	case p.Request:
		return "contact request"
	}
	return "stranger"
}

// printFirewallProblem says, when firewall.hcl as it is now could not be
// loaded, that the previous rules are still in force and why.
func printFirewallProblem(w io.Writer, fw api.FirewallStatus) {
	if fw.Error == "" {
		return
	}
	fmt.Fprintf(w, "warning: %s has errors, so the previous rules are still in force until it is fixed:\n  %s\n\n",
		fw.Path, strings.ReplaceAll(fw.Error, "\n", "\n  "))
}
