package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/hashicorp/go-hclog"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/plugins"
)

// ErrVerifyFailed means `dpc plugin verify` found a problem.
var ErrVerifyFailed = errors.New("plugin verification failed")

func newPluginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Pin, verify and inspect plugins",
		Long: `Plugins are found in $DPC_HOME/plugins and in plugins/ next to the dpc binary,
as files named dpc-plugin-<name>. Each must be pinned by sha256 in
dpc.lock.hcl before dpc runs it.`,
	}
	cmd.AddCommand(newPluginLockCmd(g), newPluginVerifyCmd(g), newPluginListCmd(g), newPluginStatusCmd(g))
	return cmd
}

// found lists the plugin binaries of a data directory.
func (g *globals) found(d home.Dir) ([]plugins.Binary, []string) {
	dirs := plugins.SearchDirs(d.Plugins())
	return plugins.Discover(dirs, g.logger("plugins", hclog.Warn)), dirs
}

func newPluginLockCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Pin every plugin found by sha256 in dpc.lock.hcl",
		Long: `lock starts each plugin found once to learn its kind and version, and writes
its sha256 to dpc.lock.hcl. Run it after reviewing a new or updated plugin:
from then on dpc refuses to run any other binary under that name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := g.initialized()
			if err != nil {
				return err
			}
			bins, dirs := g.found(d)
			if len(bins) == 0 {
				return fmt.Errorf("no plugins found in %s", strings.Join(dirs, ", "))
			}
			old, err := config.ReadLock(d.Lock())
			if err != nil {
				return err
			}
			lock := &config.Lock{Path: d.Lock()}
			out := cmd.OutOrStdout()
			for i, b := range bins {
				fmt.Fprintf(out, "[%d/%d] %s ... ", i+1, len(bins), b.Name)
				ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
				sum, info, err := plugins.Fingerprint(ctx, b, d.PluginExec(), g.logger("plugin", hclog.Warn).Named(b.Name))
				cancel()
				if err != nil {
					fmt.Fprintln(out, "failed")
					return fmt.Errorf("locking %s: %w", b.Path, err)
				}
				e := config.LockEntry{Kind: string(info.Kind), Name: b.Name, Version: info.Version, SHA256: sum}
				lock.Set(e)
				change := "pinned"
				if prev, ok := old.Find(b.Name); ok && prev.SHA256 == sum {
					change = "unchanged"
				} else if ok {
					change = "updated (was " + prev.SHA256[:12] + "…)"
				}
				fmt.Fprintf(out, "%s %s %s sha256:%s %s\n", e.Kind, e.Name, e.Version, sum[:12]+"…", change)
			}
			for _, e := range old.Entries {
				if _, ok := lock.Find(e.Name); !ok {
					fmt.Fprintf(out, "removed %s/%s: its binary is gone\n", e.Kind, e.Name)
				}
			}
			if err := lock.Write(); err != nil {
				return err
			}
			fmt.Fprintf(out, "Wrote %s\n", d.Lock())
			return nil
		},
	}
}

// check is one plugin's verification result.
type check struct {
	bin     plugins.Binary
	entry   config.LockEntry
	pinned  bool
	sha     string
	problem string
}

// verifyAll hashes every binary and compares it with its pin.
func verifyAll(d home.Dir, lock *config.Lock, bins []plugins.Binary) []check {
	var out []check
	for _, b := range bins {
		c := check{bin: b}
		var err error
		c.entry, c.pinned = lock.Find(b.Name)
		c.sha, err = plugins.FileSHA256(b.Path)
		switch {
		case err != nil:
			c.problem = fmt.Sprintf("cannot read %s: %v", b.Path, err)
		case !c.pinned:
			c.problem = fmt.Sprintf("%s is not pinned in %s: review it, then run `dpc plugin lock`", b.Path, d.Lock())
		case c.entry.SHA256 != c.sha:
			c.problem = fmt.Sprintf("%s has sha256 %s but %s pins %s: it was modified or replaced", b.Path, c.sha, d.Lock(), c.entry.SHA256)
		}
		out = append(out, c)
	}
	return out
}

func newPluginVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every plugin found against dpc.lock.hcl",
		Long: `verify hashes every plugin binary found and compares it with its pin. It exits
non-zero, naming each plugin at fault, if any binary is unpinned or does not
match, or if a plugin enabled in dpc.hcl has no binary or no pin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, cfg, err := g.load(nil, nil)
			if err != nil {
				return err
			}
			lock, err := config.ReadLock(d.Lock())
			if err != nil {
				return err
			}
			bins, dirs := g.found(d)
			checks := verifyAll(d, lock, bins)
			out := cmd.OutOrStdout()
			var problems []string
			for _, c := range checks {
				if c.problem != "" {
					problems = append(problems, fmt.Sprintf("plugin %s: %s", c.bin.Name, c.problem))
					fmt.Fprintf(out, "FAIL  %s\n", c.bin.Name)
					continue
				}
				fmt.Fprintf(out, "ok    %s (%s %s, sha256:%s…)\n", c.bin.Name, c.entry.Kind, c.entry.Version, c.sha[:12])
			}
			if _, err := plugins.ResolveSpecs(cfg, lock, bins, dirs); err != nil {
				problems = append(problems, err.Error())
			}
			if len(problems) > 0 {
				return fmt.Errorf("%w:\n  %s", ErrVerifyFailed, strings.Join(problems, "\n  "))
			}
			fmt.Fprintf(out, "All %d plugins match %s.\n", len(checks), d.Lock())
			return nil
		},
	}
}

func newPluginListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the plugins found, their pins and whether dpc.hcl enables them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, cfg, err := g.load(nil, nil)
			if err != nil {
				return err
			}
			lock, err := config.ReadLock(d.Lock())
			if err != nil {
				return err
			}
			bins, dirs := g.found(d)
			if len(bins) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "No plugins found in %s.\n", strings.Join(dirs, ", "))
				return nil
			}
			checks := verifyAll(d, lock, bins)
			enabled := map[string]string{}
			for _, p := range cfg.Plugins {
				state := "disabled"
				if p.Enabled {
					state = "enabled"
				}
				enabled[p.Name] = state
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tPIN\tCONFIG\tPATH")
			for _, c := range checks {
				pin := "ok"
				switch {
				case !c.pinned:
					pin = "not pinned"
				case c.problem != "":
					pin = "MISMATCH"
				}
				cfgState := enabled[c.bin.Name]
				if cfgState == "" {
					cfgState = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.bin.Name, orDash(c.entry.Kind), orDash(c.entry.Version), pin, cfgState, c.bin.Path)
			}
			return tw.Flush()
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newPluginStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the state of each plugin in the running node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var st []plugins.Status
			if err := c.Get(cmd.Context(), "/v1/plugins", &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(st))
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each plugin's status as a JSON array")
	return cmd
}

func printStatus(w io.Writer, st []plugins.Status) {
	if len(st) == 0 {
		fmt.Fprintln(w, "The node runs no plugins (enable some in dpc.hcl).")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tVERSION\tSTATE\tPID\tRESTARTS\tSINCE\tLAST PING")
	for _, s := range st {
		pid, ping := "-", "-"
		if s.PID != 0 {
			pid = fmt.Sprint(s.PID)
		}
		if !s.LastPing.IsZero() {
			ping = time.Since(s.LastPing).Round(time.Second).String() + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, orDash(s.Version), s.State, pid, s.Restarts,
			s.Since.Local().Format(time.TimeOnly), ping)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, s := range st {
		fmt.Fprintf(w, "%s: pinned sha256 %s; may %s\n", s.ID, orDash(s.SHA256), orDash(strings.Join(s.Allowed, ", ")))
	}
	for _, s := range st {
		if s.LastError != "" && s.State != plugins.StateRunning {
			fmt.Fprintf(w, "%s: %s\n", s.ID, s.LastError)
		}
	}
}
