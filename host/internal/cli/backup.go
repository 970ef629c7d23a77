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

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/backup"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/textsafe"
	"github.com/dpc-go/dpc/sdk"
)

var (
	// ErrNoPassphrase means there is no terminal to ask for a passphrase
	// and no --passphrase-file.
	ErrNoPassphrase = errors.New("no passphrase")
	// ErrPassphraseMismatch means the two passphrases typed differ.
	ErrPassphraseMismatch = errors.New("the passphrases differ")
	// ErrBackupFailed means the node reported the backup as failed.
	ErrBackupFailed = errors.New("backup failed")
	// ErrNodeRunning means a restore through the plugin was asked while
	// the node, which owns the plugins, runs.
	ErrNodeRunning = errors.New("the node is running")
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
		Use:   "restore (NAME | --from-file PATH) --to DIR",
		Short: "Restore a backup into a new data directory (with the node stopped)",
		Long: `restore decrypts a backup object and writes the node it holds into a new
data directory. With NAME (from dpc backup list), it starts the backup
plugin configured in this data directory's dpc.hcl on its own, with the
node stopped, and reads the object through it. With --from-file it reads a
local file instead, for when this data directory is gone: with the
backup-file plugin, that is the file of that name in the plugin's
directory (dir in dpc.hcl, ${home}/backups by default).

Every member is checked against the backup's manifest and only the files
the format defines are accepted. The new directory is written beside
--to and renamed into place at the end: a wrong passphrase or a damaged
object leaves nothing behind. --to must be empty or missing; --force
moves a non-empty one aside (to DIR.replaced-<time>), but never the
directory of a running node. Then: dpc --home DIR id shows the node_id,
dpc --home DIR run starts it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (from != "") || to == "" {
				return fmt.Errorf("restore needs the backup (a NAME from dpc backup list, or --from-file PATH) and --to DIR (the new data directory)")
			}
			target, err := home.Resolve(to)
			if err != nil {
				return err
			}
			var obj io.ReadCloser
			var name string
			var size int64
			if from != "" {
				f, err := os.Open(from)
				if err != nil {
					return fmt.Errorf("backup object: %w", err)
				}
				fi, err := f.Stat()
				if err != nil {
					_ = f.Close()
					return fmt.Errorf("backup object: %w", err)
				}
				obj, name, size = f, filepath.Base(from), fi.Size()
			} else {
				name = args[0]
				if err := backup.CheckName(name); err != nil {
					return err
				}
				res, stop, err := g.openBackup(cmd.Context(), name)
				if err != nil {
					return err
				}
				defer stop()
				obj, size = res.Body, res.Object.Size
			}
			defer obj.Close()
			pass, err := readPassphrase(cmd, passFile, false)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "restoring %s (%d bytes) into %s\n", name, size, target)
			var r io.Reader = obj
			if isTerminal(cmd.ErrOrStderr()) && size > 0 {
				bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
					progressbar.OptionShowBytes(true), progressbar.OptionSetDescription("decrypting"),
					progressbar.OptionThrottle(100e6), progressbar.OptionClearOnFinish())
				defer func() { _ = bar.Exit() }()
				pr := progressbar.NewReader(obj, bar)
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
	cmd.Flags().StringVar(&from, "from-file", "", "restore this file instead of a NAME read through the backup plugin (e.g. a file of the backup-file plugin's directory)")
	cmd.Flags().StringVar(&to, "to", "", "the new data directory")
	cmd.Flags().BoolVar(&force, "force", false, "move a non-empty --to aside instead of refusing")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "read the passphrase from this file (its first line) instead of asking")
	return cmd
}

// openBackup starts the backup plugin configured in the data directory on
// its own (the node must be stopped: it owns the plugins while it runs) and
// opens the object name through it; stop ends the plugin.
func (g *globals) openBackup(ctx context.Context, name string) (sdk.GetResult, func(), error) {
	d, cfg, err := g.load(nil, nil)
	if err != nil {
		return sdk.GetResult{}, nil, err
	}
	if c, err := api.Dial(d.APISocket(), d.APIToken()); err == nil {
		var n api.NodeInfo
		if c.Get(ctx, "/v1/node", &n) == nil {
			return sdk.GetResult{}, nil, fmt.Errorf("%w: the node of %s owns its plugins while it runs; stop it first, or restore with --from-file", ErrNodeRunning, d)
		}
	}
	id, err := identity.Load(d.Identity())
	if err != nil {
		return sdk.GetResult{}, nil, err
	}
	lock, err := config.ReadLock(d.Lock())
	if err != nil {
		return sdk.GetResult{}, nil, err
	}
	bins, dirs := g.found(d)
	specs, err := plugins.ResolveSpecs(cfg, lock, bins, dirs)
	if err != nil {
		return sdk.GetResult{}, nil, err
	}
	var backups []plugins.Spec
	for _, s := range specs {
		if s.Config.Kind == string(sdk.KindBackup) {
			backups = append(backups, s)
		}
	}
	if len(backups) == 0 {
		return sdk.GetResult{}, nil, fmt.Errorf("%w: %s enables none; restore with --from-file PATH", backup.ErrNoPlugin, d.Config())
	}
	log := g.logger("plugin", hclog.Warn)
	// ExecDir stays empty (the system's temporary directory): the node's
	// own exec directory is the node's to clean.
	mgr := plugins.NewManager(plugins.ManagerOptions{Logger: log, LogLevel: g.level(hclog.Warn), DataDir: d.PluginData(),
		EvalContext: cfg.EvalContext(), Signer: id,
		Identity: sdk.HostIdentity{NodeID: id.NodeID, PublicKeyPEM: string(id.PublicKeyPEM), CertificatePEM: string(id.CertificatePEM),
			DisplayName: cfg.Node.Name, EnvelopePublicKey: id.EnvelopeKey.PublicKey().Bytes(), EnvelopeBinding: id.EnvelopeBinding}})
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		mgr.Stop(sctx)
	}
	if err := mgr.Start(ctx, backups[:1]); err != nil {
		return sdk.GetResult{}, nil, err
	}
	pc, ok := mgr.Client(backups[0].ID())
	if !ok {
		st := mgr.Status()
		stop()
		return sdk.GetResult{}, nil, fmt.Errorf("%w: %s did not start: %s", backup.ErrNoPlugin, backups[0].ID(), st[0].LastError)
	}
	res, err := pc.Backup.Get(ctx, sdk.GetRequest{Key: name})
	if err != nil {
		stop()
		return sdk.GetResult{}, nil, fmt.Errorf("reading backup %s through %s: %w", name, backups[0].ID(), err)
	}
	return res, stop, nil
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
