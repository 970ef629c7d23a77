package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

func newSendCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "send NODE_ID TEXT",
		Short: "Send a message; returns once it is stored (delivery follows, now or when the peer is back)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			to, err := resolvePeer(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			var m chat.Message
			if err := c.Post(cmd.Context(), "/v1/messages", api.SendRequest{To: to, Text: strings.Join(args[1:], " ")}, &m); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stored %s (queued for delivery)\n", m.ID)
			return nil
		},
	}
}

// formatMessage is one line of a conversation.
func formatMessage(m chat.Message) string {
	who := "<"
	if m.Outgoing() {
		who = ">"
	}
	state := ""
	switch m.State {
	case chat.StateQueued:
		state = " [queued]"
	case chat.StateHeldByPeer:
		state = " [held by peer: contact request]"
	case chat.StateDenied:
		state = " [refused: " + textsafe.Line(m.Reason) + "]"
	case chat.StateRequest:
		state = " [contact request: dpc peers accept " + m.Peer + "]"
	}
	return fmt.Sprintf("%s %s %s%s", m.SentAt.Local().Format("2006-01-02 15:04:05"), who, textsafe.Text(m.Text), state)
}

func newHistoryCmd(g *globals) *cobra.Command {
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history NODE_ID",
		Short: "Show the conversation with a peer, one message per line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			peer, err := resolvePeer(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			var msgs []chat.Message
			q := url.Values{"peer": {peer}, "limit": {fmt.Sprint(limit)}}
			if err := c.Get(cmd.Context(), "/v1/messages?"+q.Encode(), &msgs); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(msgs))
			}
			for _, m := range msgs {
				fmt.Fprintln(cmd.OutOrStdout(), formatMessage(m))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many messages (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the messages as a JSON array")
	return cmd
}

func newChatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "chat NODE_ID",
		Short: "Chat interactively: type a line to send it; incoming messages appear as they arrive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			peer, err := resolvePeer(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var msgs []chat.Message
			if err := c.Get(cmd.Context(), "/v1/messages?"+url.Values{"peer": {peer}, "limit": {"0"}}.Encode(), &msgs); err != nil {
				return err
			}
			for _, m := range msgs[max(0, len(msgs)-20):] {
				fmt.Fprintln(out, formatMessage(m))
			}
			fmt.Fprintf(out, "-- chatting with %s; Ctrl-D to leave --\n", peer)
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() {
				_ = c.Stream(ctx, func(raw json.RawMessage) error {
					printChatEvent(out, peer, raw)
					return nil
				})
			}()
			return sendLines(ctx, c, peer, cmd.InOrStdin(), out)
		},
	}
}

func printChatEvent(out io.Writer, peer string, raw json.RawMessage) {
	var ev struct {
		Type string          `json:"type"`
		Peer string          `json:"peer"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.Peer != peer {
		return
	}
	switch ev.Type {
	case "message", "contact_request":
		var m chat.Message
		if json.Unmarshal(ev.Data, &m) == nil {
			fmt.Fprintln(out, formatMessage(m))
		}
	case "message_state":
		var m chat.Message
		if json.Unmarshal(ev.Data, &m) == nil && m.State != chat.StateDelivered {
			fmt.Fprintln(out, formatMessage(m))
		}
	case "peer":
		var st map[string]string
		if json.Unmarshal(ev.Data, &st) == nil && st["state"] != "" {
			fmt.Fprintf(out, "-- %s %s %s --\n", peer, textsafe.Line(st["state"]), textsafe.Line(st["reason"]))
		}
	}
}

func sendLines(ctx context.Context, c *api.Client, peer string, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var m chat.Message
		if err := c.Post(ctx, "/v1/messages", api.SendRequest{To: peer, Text: text}, &m); err != nil {
			fmt.Fprintln(out, "not sent:", textsafe.Line(err.Error()))
			continue
		}
		fmt.Fprintln(out, formatMessage(m))
	}
	return sc.Err()
}

// checkJSON is what `dpc firewall check --json` prints.
type checkJSON struct {
	Node     string `json:"node"`
	Resource string `json:"resource"`
	Allowed  bool   `json:"allowed"`
	Rule     string `json:"rule"`
	// FirewallError says why firewall.hcl as it is now is not in force:
	// the decision comes from the previous rules.
	FirewallError string `json:"firewall_error,omitempty"`
}

func newFirewallCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{Use: "firewall", Short: "Inspect the firewall (firewall.hcl)"}
	check := &cobra.Command{
		Use:   "check NODE_ID RESOURCE",
		Short: "Say whether the firewall allows a node a resource, and which rule decided",
		Long: `check asks the running node's firewall. Resources: messages, files, history,
compute, model:<name>, channel_invites, context:<path> (e.g. context:profile.name).
It exits 0 on allow and 1 on deny. If firewall.hcl has errors, it says so:
the previous rules, which decided, stay in force until the file is fixed.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			node, err := resolvePeer(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			var d firewall.Decision
			q := url.Values{"node": {node}, "resource": {args[1]}}
			if err := c.Get(cmd.Context(), "/v1/firewall/check?"+q.Encode(), &d); err != nil {
				return err
			}
			var fw api.FirewallStatus
			if err := c.Get(cmd.Context(), "/v1/firewall", &fw); err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), checkJSON{Node: d.Node, Resource: d.Resource, Allowed: d.Allowed, Rule: d.Rule, FirewallError: fw.Error}); err != nil {
					return err
				}
			} else {
				printFirewallProblem(cmd.ErrOrStderr(), fw)
				verdict := "deny"
				if d.Allowed {
					verdict = "allow"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", verdict, d.Rule)
			}
			if !d.Allowed {
				return errDenied
			}
			return nil
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print the decision as a JSON object")
	cmd.AddCommand(check)
	return cmd
}
