package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// errAskFailed ends `dpc ask` with a non-zero status after the reason was printed.
var errAskFailed = errors.New("no answer")

func newAskCmd(g *globals) *cobra.Command {
	var req intel.Request
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ask [--peer NODE_ID]... [--model M] [--on NODE_ID] [--scope S] QUESTION",
		Short: "Ask your AI, with the context your peers share with you",
		Long: `Ask a question. The prompt holds your own context, filtered through an AI
scope of firewall.hcl (rule "scope" "default" unless --scope names another;
--scope none leaves it out), and the context each --peer shares with you,
each block marked with its source. The answer streams as it is made; then
come the sources used and any peer whose context is missing, and why.

With --on the question runs on that peer's model instead of yours, if its
firewall lets you ("compute" and the model). That peer sees the whole prompt,
so your own context is left out unless you name a --scope.

--model picks a model by id or as provider/id (see dpc models); the default
is the first model of the first LLM plugin in dpc.hcl.`,
		Example: `  dpc ask "what should I cook tonight?"
  dpc ask --peer dpc-node-0123456789abcdef0123456789abcdef "what does Carol like to cook?"
  dpc ask --on dpc-node-0123456789abcdef0123456789abcdef --model llama3 "summarise this"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Question = strings.Join(args, " ")
			c, err := g.client()
			if err != nil {
				return err
			}
			if req.Peers, err = resolvePeers(cmd.Context(), c, req.Peers); err != nil {
				return err
			}
			if req.On != "" {
				if req.On, err = resolvePeer(cmd.Context(), c, req.On); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			p := askPrinter{w: out}
			err = c.PostLines(cmd.Context(), "/v1/ask", req, func(line json.RawMessage) error {
				var e intel.Event
				if err := json.Unmarshal(line, &e); err != nil {
					return fmt.Errorf("reading the answer: %w", err)
				}
				if asJSON {
					p.track(e)
					_, err := fmt.Fprintln(out, string(line))
					return err
				}
				return p.print(e)
			})
			if err != nil {
				return err
			}
			if p.failed != "" {
				return fmt.Errorf("%w: %s", errAskFailed, p.failed)
			}
			if !p.done {
				return fmt.Errorf("%w: the node ended the answer early (see its log)", errAskFailed)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&req.Peers, "peer", nil, "include the context this peer shares with you (repeatable)")
	cmd.Flags().StringVar(&req.Model, "model", "", "model id or provider/id (default: the first of the first LLM plugin)")
	cmd.Flags().StringVar(&req.On, "on", "", "run the question on this peer's model (it sees the prompt)")
	cmd.Flags().StringVar(&req.Scope, "scope", "", `AI scope for your own context ("none" leaves it out; default "default", or "none" with --on)`)
	cmd.Flags().BoolVar(&req.Fresh, "fresh", false, "ask each --peer again rather than use the copy of its context it last sent")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the events, one JSON object per line; the exit status is 0 when the answer completed")
	_ = cmd.RegisterFlagCompletionFunc("peer", g.completePeerFlag)
	_ = cmd.RegisterFlagCompletionFunc("on", g.completePeerFlag)
	return cmd
}

// askPrinter shows an answer's events as text.
type askPrinter struct {
	w       io.Writer
	inDelta bool // the last thing printed was part of the answer
	done    bool
	failed  string
}

// track records whether the answer completed or failed.
func (p *askPrinter) track(e intel.Event) {
	switch e.Type {
	case "done":
		p.done = true
	case "error":
		// The reason may quote a peer.
		p.failed = textsafe.Line(e.Text)
	}
}

func (p *askPrinter) print(e intel.Event) error {
	p.track(e)
	var err error
	endAnswer := func() {
		if p.inDelta {
			_, err = fmt.Fprintln(p.w)
			p.inDelta = false
		}
	}
	switch e.Type {
	case "notice":
		_, err = fmt.Fprintf(p.w, "note: %s\n", textsafe.Line(e.Text))
	case "source":
		_, err = fmt.Fprintf(p.w, "context: %s\n", describeSource(*e.Source))
	case "missing":
		_, err = fmt.Fprintf(p.w, "no context from %s: %s\n", peerLabel(e.Missing.Name, e.Missing.NodeID), textsafe.Line(e.Missing.Reason))
	case "delta":
		if !p.inDelta {
			if _, err = fmt.Fprintln(p.w); err != nil {
				return err
			}
		}
		p.inDelta = true
		// The answer may come from a peer's model, or quote peers' context.
		_, err = io.WriteString(p.w, textsafe.Text(e.Text))
	case "done":
		endAnswer()
		err = p.summary(*e.Done)
	case "error":
		endAnswer()
	}
	return err
}

func (p *askPrinter) summary(s intel.Summary) error {
	var b strings.Builder
	b.WriteString("\n")
	if len(s.Sources) == 0 {
		b.WriteString("Sources: none (the prompt held no context)\n")
	} else {
		b.WriteString("Sources:\n")
		for _, src := range s.Sources {
			fmt.Fprintf(&b, "  - %s\n", describeSource(src))
		}
	}
	for _, m := range s.Missing {
		fmt.Fprintf(&b, "Not included: %s: %s\n", peerLabel(m.Name, m.NodeID), textsafe.Line(m.Reason))
	}
	where := "this node"
	if s.On != "" {
		where = s.On
	}
	model := llm.Model{Provider: s.Provider}
	model.ID = s.Model
	fmt.Fprintf(&b, "Model: %s on %s (%d prompt tokens, %d answer tokens)\n", textsafe.Line(model.Ref()), textsafe.Line(where), s.PromptTokens, s.CompletionTokens)
	_, err := io.WriteString(p.w, b.String())
	return err
}

func describeSource(s intel.Source) string {
	what := strings.Join(s.Paths, ", ")
	if what == "" {
		what = "nothing"
	}
	label := s.Label
	switch {
	case s.Own:
		label += " [scope " + s.Scope + "]"
	case s.Cached:
		label += " [cached]"
	}
	return textsafe.Line(label + ": " + what)
}

func peerLabel(name, id string) string {
	if name == "" {
		return textsafe.Line(id)
	}
	return textsafe.Line(name + " (" + id + ")")
}

func newModelsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models of the running LLM plugins (the names dpc ask --model takes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var list []llm.Model
			if err := c.Get(cmd.Context(), "/v1/models", &list); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(list))
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), `no model: no LLM plugin is running (enable one in dpc.hcl, e.g. plugin "llm" "llm-local" {}, and see dpc plugin status)`)
				return nil
			}
			for i, m := range list {
				def := ""
				if i == 0 {
					def = "  (default)"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s%s\n", m.Ref(), m.Description, def)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the models as a JSON array, the default first")
	return cmd
}
