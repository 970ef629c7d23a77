package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// ackWait is how long `send` waits for the peer's acknowledgement before
// saying the message is queued: long enough for a connected peer, short
// enough not to keep the user waiting for an offline one.
const ackWait = 3 * time.Second

func newSendCmd(g *globals) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "send NODE_ID TEXT",
		Short: "Send a message; says delivered if the peer acknowledges it within --wait, else queued (delivery follows when the peer is back)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, to, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// Subscribed before sending, so the acknowledgement cannot
			// come before we listen.
			var es *api.EventStream
			if wait > 0 && connected(cmd.Context(), c, to) {
				if es, err = c.Events(cmd.Context()); err != nil {
					return err
				}
				defer es.Close()
			}
			var m chat.Message
			if err := c.Post(cmd.Context(), "/v1/messages", api.SendRequest{To: to, Text: strings.Join(args[1:], " ")}, &m); err != nil {
				return err
			}
			if es != nil {
				m = awaitAck(cmd.Context(), es, m, wait)
			}
			out := cmd.OutOrStdout()
			switch m.State {
			case chat.StateDelivered:
				fmt.Fprintf(out, "delivered %s\n", m.ID)
			case chat.StateHeldByPeer:
				fmt.Fprintf(out, "delivered %s (held by the peer as a contact request until they accept you)\n", m.ID)
			case chat.StateDenied:
				return fmt.Errorf("message %s refused by %s: %s", m.ID, m.Peer, textsafe.Line(m.Reason))
			default:
				fmt.Fprintf(out, "queued %s (stored; not acknowledged yet: delivery follows when %s is reachable, see `dpc history`)\n", m.ID, m.Peer)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", ackWait, "how long to wait for the peer's acknowledgement (0: do not wait)")
	return cmd
}

// connected tells whether the node has a session with peer now: only then
// is an acknowledgement worth waiting for.
func connected(ctx context.Context, c *api.Client, peer string) bool {
	var list []network.PeerStatus
	if c.Get(ctx, "/v1/peers", &list) != nil {
		return false
	}
	for _, p := range list {
		if p.NodeID == peer {
			return p.State == "connected"
		}
	}
	return false
}

// awaitAck waits up to wait for the event that records the peer's answer
// to m, and returns m as it then stands (unchanged if none came).
func awaitAck(ctx context.Context, es *api.EventStream, m chat.Message, wait time.Duration) chat.Message {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		raw, err := es.Next(ctx)
		if err != nil {
			return m
		}
		var ev struct {
			Type string       `json:"type"`
			Data chat.Message `json:"data"`
		}
		if json.Unmarshal(raw, &ev) == nil && ev.Type == "message_state" && ev.Data.ID == m.ID && ev.Data.Peer == m.Peer {
			return ev.Data
		}
	}
}

// formatMessage is one line of a conversation, with the message's state.
func formatMessage(m chat.Message) string {
	who := "<"
	if m.Outgoing() {
		who = ">"
	}
	state := ""
	switch m.State {
	case chat.StateQueued:
		state = " [queued]"
	case chat.StateDelivered:
		state = " [delivered]"
	case chat.StateHeldByPeer:
		state = " [held by peer: contact request]"
	case chat.StateDenied:
		state = " [refused: " + textsafe.Line(m.Reason) + "]"
	case chat.StateRequest:
		state = " [contact request: dpc peers accept " + m.Peer + "]"
	case chat.StateRestored:
		state = " [restored: the peer's copy; not in this node's records]"
	}
	return fmt.Sprintf("%s %s %s%s", m.SentAt.Local().Format("2006-01-02 15:04:05"), who, textsafe.Text(m.Text), state)
}

func newHistoryCmd(g *globals) *cobra.Command {
	var (
		limit  int
		before string
		all    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "history NODE_ID",
		Short: "Show the conversation with a peer, one message per line with its state: the latest page, an older one (--before), or all of it (--all)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 || limit > chat.MaxPageSize {
				return fmt.Errorf("--limit must be 0 (default %d) to %d, got %d", chat.DefaultPageSize, chat.MaxPageSize, limit)
			}
			if all && before != "" {
				return fmt.Errorf("--all and --before do not go together: --all shows everything, oldest first")
			}
			c, peer, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := &messageWriter{w: cmd.OutOrStdout(), json: asJSON}
			q := url.Values{"peer": {peer}, "limit": {fmt.Sprint(limit)}}
			if !all {
				q.Set("before", before)
				p, err := getPage(cmd.Context(), c, q)
				if err != nil {
					return err
				}
				if err := out.page(p); err != nil {
					return err
				}
				if p.More {
					fmt.Fprintf(cmd.ErrOrStderr(), "-- older messages: dpc history %s --before %s --\n", args[0], p.Next)
				}
				return out.end()
			}
			// Oldest first, a page at a time: memory stays flat however
			// long the conversation.
			q.Set("since", time.Unix(0, 0).UTC().Format(time.RFC3339))
			for {
				p, err := getPage(cmd.Context(), c, q)
				if err != nil {
					return err
				}
				if err := out.page(p); err != nil {
					return err
				}
				if !p.More {
					return out.end()
				}
				q.Del("since")
				q.Set("after", string(p.Next))
			}
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, fmt.Sprintf("messages per page (0: %d, at most %d)", chat.DefaultPageSize, chat.MaxPageSize))
	cmd.Flags().StringVar(&before, "before", "", "show the page before this cursor (printed after a page that has older messages)")
	cmd.Flags().BoolVar(&all, "all", false, "show the whole conversation, oldest first, page by page")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the messages as a JSON array")
	return cmd
}

// messageWriter prints pages of messages as lines, or as one JSON array
// written as the pages come (so --all --json streams too).
type messageWriter struct {
	w       io.Writer
	json    bool
	started bool
}

func (mw *messageWriter) page(p chat.Page) error {
	if !mw.json {
		printPage(mw.w, p)
		return nil
	}
	for _, m := range p.Messages {
		sep := ",\n"
		if !mw.started {
			sep, mw.started = "[\n", true
		}
		b, err := json.MarshalIndent(m, "  ", "  ")
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(mw.w, "%s  %s", sep, b); err != nil {
			return err
		}
	}
	return nil
}

func (mw *messageWriter) end() error {
	if !mw.json {
		return nil
	}
	if !mw.started {
		_, err := fmt.Fprintln(mw.w, "[]")
		return err
	}
	_, err := fmt.Fprintln(mw.w, "\n]")
	return err
}

func getPage(ctx context.Context, c *api.Client, q url.Values) (chat.Page, error) {
	var p chat.Page
	err := c.Get(ctx, "/v1/messages?"+q.Encode(), &p)
	return p, err
}

func printPage(out io.Writer, p chat.Page) {
	for _, m := range p.Messages {
		fmt.Fprintln(out, formatMessage(m))
	}
}

// chatBacklog is how many recent messages `chat` shows first.
const chatBacklog = 20

func newChatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "chat NODE_ID",
		Short: "Chat interactively: type a line to send it; incoming messages and the state of yours appear as they change",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, peer, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			// Subscribed first, so nothing that happens from here on is missed.
			es, err := c.Events(cmd.Context())
			if err != nil {
				return err
			}
			defer es.Close()
			p, err := getPage(cmd.Context(), c, url.Values{"peer": {peer}, "limit": {fmt.Sprint(chatBacklog)}})
			if err != nil {
				return err
			}
			printPage(out, p)
			fmt.Fprintf(out, "-- chatting with %s; Ctrl-D to leave --\n", peer)
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			view := &chatView{out: out, peer: peer, answered: map[string]bool{}}
			go func() {
				for {
					raw, err := es.Next(ctx)
					if err != nil {
						return
					}
					view.event(raw)
				}
			}()
			return sendLines(ctx, c, peer, cmd.InOrStdin(), view)
		},
	}
}

// chatView prints the lines of `chat`: the event reader's and the sender's,
// one at a time. A message's state line never goes back: when the peer's
// answer (an event) comes before the API has said the message is stored,
// the "queued" line is left out.
type chatView struct {
	mu       sync.Mutex
	out      io.Writer
	peer     string
	answered map[string]bool // ids of our messages the peer has answered
}

func (v *chatView) event(raw json.RawMessage) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if m, ok := printChatEvent(v.out, v.peer, raw); ok {
		v.answered[m.ID] = true
	}
}

func (v *chatView) sent(m chat.Message) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.answered[m.ID] {
		fmt.Fprintln(v.out, formatMessage(m))
	}
}

func (v *chatView) println(a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintln(v.out, a...)
}

// printChatEvent prints an event about peer; for the peer's answer to one
// of our messages it returns that message.
func printChatEvent(out io.Writer, peer string, raw json.RawMessage) (chat.Message, bool) {
	var ev struct {
		Type string          `json:"type"`
		Peer string          `json:"peer"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.Peer != peer {
		return chat.Message{}, false
	}
	switch ev.Type {
	case "message", "contact_request":
		var m chat.Message
		if json.Unmarshal(ev.Data, &m) == nil {
			fmt.Fprintln(out, formatMessage(m))
		}
	case "message_state":
		// The peer answered one of ours: its line again, with the state.
		var m chat.Message
		if json.Unmarshal(ev.Data, &m) == nil {
			fmt.Fprintln(out, formatMessage(m))
			return m, true
		}
	case "peer":
		var st map[string]string
		if json.Unmarshal(ev.Data, &st) == nil && st["state"] != "" {
			fmt.Fprintf(out, "-- %s %s %s --\n", peer, textsafe.Line(st["state"]), textsafe.Line(st["reason"]))
		}
	}
	return chat.Message{}, false
}

func sendLines(ctx context.Context, c *api.Client, peer string, in io.Reader, view *chatView) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var m chat.Message
		if err := c.Post(ctx, "/v1/messages", api.SendRequest{To: peer, Text: text}, &m); err != nil {
			view.println("not sent:", textsafe.Line(err.Error()))
			continue
		}
		view.sent(m)
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
compute, model:<name>, channel_invites, mailbox, context:<path> (e.g. context:profile.name).
It exits 0 on allow and 1 on deny. If firewall.hcl has errors, it says so:
the previous rules, which decided, stay in force until the file is fixed.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, node, err := g.peerClient(cmd.Context(), args[0])
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
