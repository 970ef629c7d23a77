package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/backup"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

var (
	// ErrNoPassphrase means there is no terminal to ask for a passphrase
	// and no --passphrase-file.
	ErrNoPassphrase = errors.New("no passphrase")
	// ErrPassphraseMismatch means the two passphrases typed differ.
	ErrPassphraseMismatch = errors.New("the passphrases differ")
	// ErrBackupFailed means the node reported the backup as failed.
	ErrBackupFailed = errors.New("backup failed")
)

const backupHelp = `A backup is one encrypted object stored through the node's backup plugin
(backup-file by default: files under ${home}/backups, see dpc.hcl). It holds
the node's keys, dpc.hcl, dpc.lock.hcl, firewall.hcl, personal.json and a
consistent snapshot of the database (messages, contacts, channels), and
nothing else: no logs, no API token, no received files. It is encrypted
with age to a passphrase of at least 12 characters (scrypt), so the plugin
and whoever holds the object see only ciphertext. Without the passphrase
the backup cannot be opened: keep it somewhere safe.`

func newBackupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Encrypted backups of this node: create, list, verify, restore",
		Long:  backupHelp,
	}
	cmd.AddCommand(newBackupCreateCmd(g), newBackupListCmd(g), newBackupVerifyCmd(g), newBackupRestoreCmd(g))
	return cmd
}

func newBackupCreateCmd(g *globals) *cobra.Command {
	var passFile string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Make an encrypted backup of the running node through its backup plugin",
		Long: backupHelp + `

create asks the running node to make the backup (the node owns the
database and the plugins) and follows its progress. The passphrase is
asked twice on the terminal, or read from --passphrase-file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The node first: no passphrase typed twice for nothing.
			c, err := g.client()
			if err != nil {
				return err
			}
			pass, err := readPassphrase(cmd, passFile, true)
			if err != nil {
				return err
			}
			if err := backup.CheckPassphrase(pass); err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			// Subscribe before starting so no progress event is missed.
			es, err := c.Events(ctx)
			if err != nil {
				return err
			}
			defer es.Close()
			var p backup.Progress
			if err := c.Post(ctx, "/v1/backups", api.BackupRequest{Passphrase: pass}, &p); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "making backup %s\n", p.Name)
			bar := newBackupBar(cmd.ErrOrStderr(), out)
			for {
				raw, err := es.Next(ctx)
				if err != nil {
					bar.exit()
					return fmt.Errorf("lost the node's event stream (dpc backup list shows whether the backup was stored): %w", err)
				}
				var ev struct {
					Type string          `json:"type"`
					Data backup.Progress `json:"data"`
				}
				if json.Unmarshal(raw, &ev) != nil || ev.Type != "backup" || ev.Data.ID != p.ID {
					continue
				}
				u := ev.Data
				switch u.State {
				case backup.StateDone:
					bar.finish()
					fmt.Fprintf(out, "stored %s (%d bytes)\n", u.Name, u.Bytes)
					return nil
				case backup.StateFailed:
					bar.exit()
					return fmt.Errorf("%w: %s", ErrBackupFailed, textsafe.Line(u.Error))
				default:
					bar.set(u.Phase, u.Bytes)
				}
			}
		},
	}
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the passphrase from this file (its first line) instead of asking")
	return cmd
}

func newBackupListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the backups stored through the node's backup plugin, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var l api.BackupList
			if err := c.Get(cmd.Context(), "/v1/backups", &l); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(l.Backups))
			}
			if len(l.Backups) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no backups yet (dpc backup create makes one)")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSIZE\tMODIFIED")
			for _, b := range l.Backups {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", textsafe.Line(b.Name), b.Size, b.Modified.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newBackupVerifyCmd(g *globals) *cobra.Command {
	var passFile string
	cmd := &cobra.Command{
		Use:   "verify NAME",
		Short: "Decrypt a stored backup and check every member against its manifest, writing nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := backup.CheckName(args[0]); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			pass, err := readPassphrase(cmd, passFile, false)
			if err != nil {
				return err
			}
			// A large backup takes longer than one request's timeout: the
			// answer is read as a stream (of one line).
			var v api.BackupVerified
			err = c.PostLines(cmd.Context(), "/v1/backups/"+args[0]+"/verify", api.BackupRequest{Passphrase: pass},
				func(raw json.RawMessage) error { return json.Unmarshal(raw, &v) })
			if err != nil {
				return err
			}
			m := v.Manifest
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s is intact: node %s, made %s by dpc %s, %d members, %d bytes\n",
				args[0], m.NodeID, m.Created.Local().Format(time.DateTime), textsafe.Line(m.Version), len(m.Members), m.Bytes())
			return nil
		},
	}
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the passphrase from this file (its first line) instead of asking")
	return cmd
}

func newBackupRestoreCmd(g *globals) *cobra.Command {
	var passFile, from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore --from-file PATH --to DIR",
		Short: "Restore a backup object into a new data directory (the node need not run)",
		Long: `restore decrypts a backup object and writes the node it holds into a new
data directory. It reads the object from a local file (--from-file): with
the backup-file plugin, that is the file of that name in the plugin's
directory (dir in dpc.hcl, ${home}/backups by default); from another
backup target, fetch the object first. A restore is what you do when the
node is lost or stopped, so it does not go through a running node.

Every member is checked against the backup's manifest and only the files
the format defines are accepted. The new directory is written beside
--to and renamed into place at the end: a wrong passphrase or a damaged
object leaves nothing behind. --to must be empty or missing; --force
moves a non-empty one aside (to DIR.replaced-<time>), but never the
directory of a running node. Then: dpc --home DIR id shows the node_id,
dpc --home DIR run starts it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return fmt.Errorf("restore needs --from-file PATH (the backup object) and --to DIR (the new data directory)")
			}
			target, err := home.Resolve(to)
			if err != nil {
				return err
			}
			f, err := os.Open(from)
			if err != nil {
				return fmt.Errorf("backup object: %w", err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return fmt.Errorf("backup object: %w", err)
			}
			pass, err := readPassphrase(cmd, passFile, false)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "restoring %s (%d bytes) into %s\n", filepath.Base(from), fi.Size(), target)
			var r io.Reader = f
			if isTerminal(cmd.ErrOrStderr()) {
				bar := progressbar.NewOptions64(fi.Size(), progressbar.OptionSetWriter(cmd.ErrOrStderr()),
					progressbar.OptionShowBytes(true), progressbar.OptionSetDescription("decrypting"),
					progressbar.OptionThrottle(100e6), progressbar.OptionClearOnFinish())
				defer func() { _ = bar.Exit() }()
				pr := progressbar.NewReader(f, bar)
				r = &pr
			}
			res, err := backup.Restore(r, pass, backup.RestoreOptions{Target: target, Force: force, Logger: g.logger("restore", hclog.Warn)})
			if err != nil {
				return err
			}
			if res.MovedAside != "" {
				fmt.Fprintf(out, "moved the old %s aside to %s\n", target, res.MovedAside)
			}
			m := res.Manifest
			fmt.Fprintf(out, "restored node %s (backup made %s by dpc %s) into %s\nstart it with: dpc --home %s run\n",
				m.NodeID, m.Created.Local().Format(time.DateTime), textsafe.Line(m.Version), target, target)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from-file", "", "the backup object to restore (a file, e.g. in the backup-file plugin's directory)")
	cmd.Flags().StringVar(&to, "to", "", "the new data directory")
	cmd.Flags().BoolVar(&force, "force", false, "move a non-empty --to aside instead of refusing")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the passphrase from this file (its first line) instead of asking")
	return cmd
}

// readPassphrase reads the passphrase from file, or asks on the terminal
// (twice when confirm), and refuses when stdin is no terminal.
func readPassphrase(cmd *cobra.Command, file string, confirm bool) (string, error) {
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--passphrase-file: %w", err)
		}
		line, _, _ := strings.Cut(string(raw), "\n")
		return strings.TrimSuffix(line, "\r"), nil
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return "", fmt.Errorf("%w: standard input is not a terminal to ask on; give --passphrase-file FILE (a file whose first line is the passphrase)", ErrNoPassphrase)
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the passphrase: %w", err)
		}
		return string(b), nil
	}
	p, err := ask(fmt.Sprintf("Backup passphrase (at least %d characters): ", backup.MinPassphrase))
	if err != nil || !confirm {
		return p, err
	}
	if err := backup.CheckPassphrase(p); err != nil {
		return "", err
	}
	again, err := ask("The same passphrase again: ")
	if err != nil {
		return "", err
	}
	if again != p {
		return "", fmt.Errorf("%w; nothing was backed up, run the command again", ErrPassphraseMismatch)
	}
	return p, nil
}

// backupBar shows a backup's progress: a bar of bytes on a terminal, a
// line per phase elsewhere.
type backupBar struct {
	term  io.Writer
	plain io.Writer
	phase string
	bar   *progressbar.ProgressBar
}

func newBackupBar(progress, out io.Writer) *backupBar {
	b := &backupBar{plain: out}
	if isTerminal(progress) {
		b.term = progress
	}
	return b
}

func (b *backupBar) set(phase string, bytes int64) {
	if b.term == nil {
		if phase != b.phase {
			fmt.Fprintf(b.plain, "%s… (%d bytes so far)\n", phase, bytes)
		}
		b.phase = phase
		return
	}
	if b.bar == nil {
		// The size is known only at the end: a byte counter.
		b.bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(b.term), progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100e6), progressbar.OptionClearOnFinish())
	}
	if phase != b.phase {
		b.bar.Describe(phase)
		b.phase = phase
	}
	_ = b.bar.Set64(bytes)
}

func (b *backupBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

func (b *backupBar) exit() {
	if b.bar != nil {
		_ = b.bar.Exit()
	}
}
