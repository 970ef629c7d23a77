package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/files"
)

// errTransferCancelled means a transfer ended without the file arriving.
var errTransferCancelled = errors.New("transfer cancelled")

func newSendFileCmd(g *globals) *cobra.Command {
	var noWait bool
	cmd := &cobra.Command{
		Use:   "send-file NODE_ID PATH",
		Short: "Send a file, showing progress until the peer has verified it",
		Long: `send-file offers the file to the peer. The peer's firewall decides whether it
accepts files from you, and of which size and type. The transfer survives
dropped connections and restarts: it resumes where it stopped. Ctrl-C only
stops watching; the transfer goes on.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
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
			if err := c.Post(ctx, "/v1/files", api.SendFileRequest{To: args[0], Path: path}, &t); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "offered %s (%d bytes, sha256 %s…) as transfer %s\n", t.Name, t.Size, t.SHA256[:12], t.ID)
			if noWait {
				return nil
			}
			bar := progressbar.NewOptions64(t.Size, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionShowBytes(true), progressbar.OptionSetDescription(t.Name),
				progressbar.OptionThrottle(100e6), progressbar.OptionClearOnFinish())
			for {
				select {
				case err := <-streamErr:
					return fmt.Errorf("lost the node's event stream (the transfer goes on): %w", err)
				case u := <-events:
					if u.ID != t.ID {
						continue
					}
					_ = bar.Set64(u.Offset)
					switch u.State {
					case files.StateCompleted:
						_ = bar.Finish()
						fmt.Fprintf(out, "delivered %s: the peer verified sha256 %s\n", u.Name, u.SHA256)
						return nil
					case files.StateCancelled:
						_ = bar.Exit()
						return fmt.Errorf("%w: %s", errTransferCancelled, u.Reason)
					}
				}
			}
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "return once the offer is recorded")
	return cmd
}

func newTransfersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "transfers",
		Short: "List file transfers, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var list []files.Transfer
			if err := c.Get(cmd.Context(), "/v1/files", &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DIR\tPEER\tFILE\tBYTES\tSTATE\tSHA256\tPATH / REASON")
			for _, t := range list {
				extra := t.Path
				if t.Reason != "" {
					extra = t.Reason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s…\t%s\n", t.Direction, t.Peer, t.Name, t.Offset, t.Size, t.State, t.SHA256[:12], extra)
			}
			return tw.Flush()
		},
	}
}
