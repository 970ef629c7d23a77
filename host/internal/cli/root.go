package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// Version is the dpc version.
const Version = "0.1.0"

// globals holds the persistent flags.
type globals struct {
	home     string
	logLevel string
}

// NewRoot builds the dpc command tree.
func NewRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "dpc",
		Short: "D-PC: a privacy-first peer-to-peer messenger node",
		Long: `dpc runs a D-PC node: your identity, your firewall and your store, with
transports, LLM providers, backup targets and hub connectors as plugins.

Start with:  dpc init     (create this node's identity and config)
             dpc plugin lock   (pin the plugins you reviewed)
             dpc run      (run the node)

Wherever a command takes a NODE_ID, a peer's display name or the start of
its node_id will do. Shell completion: dpc completion --help.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.home, "home", "", "data directory (default $"+home.EnvVar+" or ~/.dpc)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (default info for run, warn otherwise)")
	root.AddCommand(newInitCmd(g), newIDCmd(g), newRunCmd(g), newPluginCmd(g),
		newConnectCmd(g), newPeersCmd(g), newSendCmd(g), newHistoryCmd(g), newChatCmd(g), newFirewallCmd(g), newSendFileCmd(g), newTransfersCmd(g),
		newAskCmd(g), newModelsCmd(g), newContextCmd(g),
		newHubCmd(g), newLookupCmd(g), newSearchCmd(g), newProfileCmd(g), newChannelCmd(g),
		newIntroduceCmd(g), newIntroductionsCmd(g), newUICmd(g))
	root.AddCommand(newBackupCmd(g))
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return withUsage(cmd, err) })
	addUsageToArgErrors(root)
	g.registerPeerCompletion(root)
	return root
}

// errDenied ends `dpc firewall check` with status 1 after it printed the
// decision; Execute adds nothing.
var errDenied = errors.New("denied by the firewall")

// ErrNotInitialized means the data directory has no node yet.
var ErrNotInitialized = errors.New("no dpc node here")

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	if err := NewRoot().ExecuteContext(context.Background()); err != nil {
		if !errors.Is(err, errDenied) {
			// Errors can quote what a peer sent (a refusal reason, a name).
			fmt.Fprintln(os.Stderr, "dpc:", textsafe.Text(err.Error()))
		}
		return 1
	}
	return 0
}

// withUsage adds the command's usage line to an error about its arguments
// or flags, since the usage itself is not printed (SilenceUsage).
func withUsage(cmd *cobra.Command, err error) error {
	return fmt.Errorf("%w\nusage: %s (see %s --help)", err, cmd.UseLine(), cmd.CommandPath())
}

// addUsageToArgErrors makes every command's argument check say its usage.
func addUsageToArgErrors(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return withUsage(cmd, err)
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		addUsageToArgErrors(sub)
	}
}

func (g *globals) dir() (home.Dir, error) { return home.Resolve(g.home) }

// initialized is dir for commands that need `dpc init` to have run there.
func (g *globals) initialized() (home.Dir, error) {
	d, err := g.dir()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(d.String()); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: %s does not exist; run `dpc init` to create a node there (`dpc --home %s init`)", ErrNotInitialized, d, d)
	}
	return d, nil
}

// level is the --log-level, or def when none was given.
func (g *globals) level(def hclog.Level) hclog.Level {
	if l := hclog.LevelFromString(g.logLevel); l != hclog.NoLevel {
		return l
	}
	return def
}

// logger logs to stderr; commands other than run only show warnings unless
// --log-level says otherwise.
func (g *globals) logger(name string, def hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: g.level(def), Output: os.Stderr})
}

// load resolves the data directory and reads its dpc.hcl, with the
// environment and the given flags layered on.
func (g *globals) load(flags *pflag.FlagSet, flagKeys map[string]string) (home.Dir, *config.Config, error) {
	d, err := g.initialized()
	if err != nil {
		return "", nil, err
	}
	cfg, err := config.Load(config.LoadOptions{
		Path: d.Config(), Env: os.Environ(), Flags: flags, FlagKeys: flagKeys,
		Vars: map[string]string{"home": d.String()},
	})
	return d, cfg, err
}
