package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// errTransferCancelled means a transfer ended without the file arriving.
var errTransferCancelled = errors.New("transfer cancelled")

func newSendFileCmd(g *globals) *cobra.Command {
	var noWait bool
	cmd := &cobra.Command{
		Use:   "send-file NODE_ID PATH",
		Short: "Send a file, showing progress until the peer has verified it",
		Long: `send-file offers the file to the peer. The peer's firewall decides whether it
accepts files from you, and of which size and type; a file above its
ask_above_mb (100 MiB by default) waits until its user runs dpc transfers
accept. The name must be safe everywhere: no bidirectional controls, no
Windows device name (CON, NUL, COM1, ...), no trailing dot or space. The
transfer survives
dropped connections and restarts: it resumes where it stopped. Ctrl-C only
stops watching; the transfer goes on.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, to, err := g.peerClient(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			path, err := filepath.Abs(args[1])
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			// Subscribe before offering so no progress event is missed.
			events := make(chan files.Transfer, 64)
			streamErr := make(chan error, 1)
			if !noWait {
				go func() {
					streamErr <- c.Stream(ctx, func(raw json.RawMessage) error {
						var ev struct {
							Type string         `json:"type"`
							Data files.Transfer `json:"data"`
						}
						if json.Unmarshal(raw, &ev) == nil && ev.Type == "transfer" {
							events <- ev.Data
						}
						return nil
					})
				}()
			}
			var t files.Transfer
			if err := c.Post(ctx, "/v1/files", api.SendFileRequest{To: to, Path: path}, &t); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "offered %s (%d bytes, sha256 %s…) as transfer %s\n", t.Name, t.Size, t.SHA256[:12], t.ID)
			if noWait {
				return nil
			}
			bar := newTransferBar(cmd.ErrOrStderr(), t.Name, t.Size)
			for {
				select {
				case err := <-streamErr:
					return fmt.Errorf("lost the node's event stream (the transfer goes on): %w", err)
				case u := <-events:
					if u.ID != t.ID {
						continue
					}
					if u.State == files.StateTransferring {
						bar.set(u.Offset)
					}
					switch u.State {
					case files.StateCompleted:
						bar.finish()
						fmt.Fprintf(out, "delivered %s: the peer verified sha256 %s\n", u.Name, u.SHA256)
						return nil
					case files.StateCancelled:
						bar.exit()
						return fmt.Errorf("%w: %s", errTransferCancelled, textsafe.Line(u.Reason))
					}
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the offer is recorded")
	return cmd
}

// transferBar shows a transfer's progress on a terminal, and nothing
// elsewhere. It starts when the bytes start moving and counts from the
// offset they start at, so that a transfer that waited for the peer to
// accept, or resumes half-way, does not start with an absurd rate.
type transferBar struct {
	w     io.Writer
	name  string
	size  int64
	start int64 // the offset when the bar started
	bar   *progressbar.ProgressBar
}

func newTransferBar(w io.Writer, name string, size int64) *transferBar {
	b := &transferBar{w: w, name: name, size: size}
	if !isTerminal(w) {
		b.w = nil
	}
	return b
}

func (b *transferBar) set(offset int64) {
	if b.w == nil {
		return
	}
	if b.bar == nil {
		if offset >= b.size {
			return // nothing left to show
		}
		b.start = offset
		desc := b.name
		if offset > 0 {
			desc = fmt.Sprintf("%s (resumed at %d of %d bytes)", b.name, offset, b.size)
		}
		b.bar = progressbar.NewOptions64(b.size-offset, progressbar.OptionSetWriter(b.w),
			progressbar.OptionShowBytes(true), progressbar.OptionSetDescription(desc),
			progressbar.OptionThrottle(100e6), progressbar.OptionClearOnFinish())
	}
	_ = b.bar.Set64(offset - b.start)
}

func (b *transferBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

func (b *transferBar) exit() {
	if b.bar != nil {
		_ = b.bar.Exit()
	}
}

// isTerminal reports whether a reader or writer is a terminal.
func isTerminal(rw any) bool {
	f, ok := rw.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newTransfersCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "transfers",
		Short: "List file transfers, newest first",
		Long: `transfers lists file transfers. An incoming file larger than the firewall's
ask_above_mb (100 MiB unless firewall.hcl says otherwise) waits for you:
it shows as "waiting" until you run dpc transfers accept ID.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var list []files.Transfer
			if err := c.Get(cmd.Context(), "/v1/files", &list); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(list))
			}
			return printTransfers(cmd.OutOrStdout(), list)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the transfers as a JSON array")
	cmd.AddCommand(&cobra.Command{
		Use:   "accept ID",
		Short: "Accept an incoming file that waits for you (larger than the firewall's ask_above_mb)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var t files.Transfer
			if err := c.Post(cmd.Context(), "/v1/files/"+url.PathEscape(args[0])+"/accept", nil, &t); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "accepted %s (%d bytes) from %s; dpc transfers shows its progress\n",
				textsafe.Line(t.Name), t.Size, t.Peer)
			return nil
		},
	})
	return cmd
}

// printTransfers shows transfers as a table. Names and reasons come from
// peers, so they are printed through textsafe.
func printTransfers(w io.Writer, list []files.Transfer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIR\tPEER\tFILE\tBYTES\tSTATE\tSHA256\tPATH / REASON")
	for _, t := range list {
		extra := t.Path
		if t.Reason != "" {
			extra = t.Reason
		}
		state := string(t.State)
		if t.State == files.StateWaiting {
			state = "waiting for you"
			extra = "dpc transfers accept " + t.ID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s…\t%s\n", t.ID, t.Direction, t.Peer, textsafe.Line(t.Name), t.Offset, t.Size,
			state, textsafe.Line(t.SHA256[:min(12, len(t.SHA256))]), textsafe.Line(extra))
	}
	return tw.Flush()
}
