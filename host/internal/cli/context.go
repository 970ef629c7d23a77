package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/personal"
)

// The context commands work on $DPC_HOME/personal.json directly, so they
// work whether the node runs or not. A running node watches the file, but
// its watcher takes a moment: set and edit have it reload the file through
// the API and return only once it uses the change, so that a `dpc ask`
// right after sees it. The node tells the peers whose view changed.

func newContextCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "context",
		Short: "Show and edit your personal context (personal.json)",
		Long: `Your personal context is $DPC_HOME/personal.json: your profile, knowledge
topics and entries, preferences (D-PC's Personal Context Model). Your AI uses
it when you ask (through an AI scope in firewall.hcl), and peers see exactly
the parts your firewall shares with them, never more.`,
	}
	cmd.AddCommand(newContextShowCmd(g), newContextSetCmd(g), newContextEditCmd(g))
	return cmd
}

func newContextShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show [PATH]",
		Short: "Print the context, or the value at a dotted PATH such as profile.name",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.personalFile()
			if err != nil {
				return err
			}
			doc, _ := f.Current()
			var v any = doc
			if len(args) == 1 {
				if v, err = personal.Get(doc, args[0]); err != nil {
					return err
				}
			}
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return err
		},
	}
}

func newContextSetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "set PATH VALUE",
		Short: "Set the value at a dotted PATH; VALUE is JSON if it parses as JSON, else text",
		Example: `  dpc context set profile.name "Carol"
  dpc context set profile.core_values '["honesty","curiosity"]'
  dpc context set knowledge.cooking.summary "Italian home cooking"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := g.personalFile()
			if err != nil {
				return err
			}
			if err := f.Update(func(doc map[string]any) error { return personal.Set(doc, args[0], args[1]) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "set %s in %s\n", args[0], filepath.Base(f.Path()))
			return g.nodeUses(cmd, f)
		},
	}
}

func newContextEditCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "edit",
		Short: "Edit personal.json in $VISUAL or $EDITOR; it is checked before it replaces the file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := g.personalFile()
			if err != nil {
				return err
			}
			editor := firstNonEmpty(os.Getenv("VISUAL"), os.Getenv("EDITOR"), "vi")
			// The version the edit starts from: saving over a change made
			// meanwhile (by the UI, `dpc context set`) is refused.
			_, base := f.Current()
			orig, err := os.ReadFile(f.Path())
			if err != nil {
				return err
			}
			tmp, err := os.CreateTemp(filepath.Dir(f.Path()), ".personal-edit-*.json")
			if err != nil {
				return err
			}
			keep := false // an edit refused as stale stays for the user to redo
			defer func() {
				if !keep {
					os.Remove(tmp.Name())
				}
			}()
			if _, err := tmp.Write(orig); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			in := bufio.NewReader(cmd.InOrStdin())
			for {
				// The editor may be "code --wait": split it like a shell would, simply.
				parts := strings.Fields(editor)
				ed := exec.Command(parts[0], append(parts[1:], tmp.Name())...)
				ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, os.Stderr
				if err := ed.Run(); err != nil {
					return fmt.Errorf("editor %q: %w (your edit is not saved)", editor, err)
				}
				edited, err := os.ReadFile(tmp.Name())
				if err != nil {
					return err
				}
				if string(edited) == string(orig) {
					fmt.Fprintln(cmd.OutOrStdout(), "no change")
					return nil
				}
				perr := f.Replace(edited, base)
				if perr == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "saved %s\n", f.Path())
					return g.nodeUses(cmd, f)
				}
				if errors.Is(perr, personal.ErrChanged) {
					keep = true
					return fmt.Errorf("%w (your edit is not saved; it is in %s)", perr, tmp.Name())
				}
				if !errors.Is(perr, personal.ErrInvalidContext) {
					return fmt.Errorf("%w (your edit is not saved)", perr)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%v\nEdit again? [Y/n] ", perr)
				answer, rerr := in.ReadString('\n')
				if rerr != nil || strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "n") {
					return fmt.Errorf("%w (your edit is not saved)", perr)
				}
			}
		},
	}
}

// reloadTimeout bounds waiting for the running node to load the context.
const reloadTimeout = 15 * time.Second

// nodeUses has the running node, if there is one, reload the personal
// context f just wrote, and checks that it now uses it. No running node is
// fine: it reads the file when it starts.
func (g *globals) nodeUses(cmd *cobra.Command, f *personal.File) error {
	_, want := f.Current()
	c, err := g.client()
	if errors.Is(err, api.ErrNotRunning) {
		return nil
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: cannot reach a running node to load the change (%v); a running node picks it up from the file shortly\n", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), reloadTimeout)
	defer cancel()
	var r api.ContextReload
	err = c.Post(ctx, "/v1/context/reload", nil, &r)
	switch {
	case errors.Is(err, api.ErrNotRunning):
		return nil
	case err != nil:
		return fmt.Errorf("%s is saved, but the running node did not confirm it loaded it: %w; check `dpc logs` or restart the node", f.Path(), err)
	case r.Error != "":
		return fmt.Errorf("%s is saved, but the running node cannot load it and keeps the previous context: %s", f.Path(), r.Error)
	case r.Hash != want:
		// Another edit landed between this one and the reload.
		return fmt.Errorf("%s is saved, but the running node now uses a different version of it (context hash %.12s, this change %.12s): was it edited again meanwhile? see `dpc context show`", f.Path(), r.Hash, want)
	}
	return nil
}

// personalFile loads $DPC_HOME/personal.json.
func (g *globals) personalFile() (*personal.File, error) {
	d, err := g.initialized()
	if err != nil {
		return nil, err
	}
	return personal.Load(d.Personal(), nil)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
