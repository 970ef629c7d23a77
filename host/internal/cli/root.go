package cli

import (
	"context"
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
             dpc run      (run the node)`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.home, "home", "", "data directory (default $"+home.EnvVar+" or ~/.dpc)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (default info for run, warn otherwise)")
	root.AddCommand(newInitCmd(g), newIDCmd(g), newRunCmd(g), newPluginCmd(g),
		newConnectCmd(g), newPeersCmd(g), newSendCmd(g), newHistoryCmd(g), newChatCmd(g), newFirewallCmd(g), newSendFileCmd(g), newTransfersCmd(g),
		newAskCmd(g), newModelsCmd(g), newContextCmd(g))
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute() int {
	if err := NewRoot().ExecuteContext(context.Background()); err != nil {
		// Errors can quote what a peer sent (a refusal reason, a name).
		fmt.Fprintln(os.Stderr, "dpc:", textsafe.Text(err.Error()))
		return 1
	}
	return 0
}

func (g *globals) dir() (home.Dir, error) { return home.Resolve(g.home) }

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
	d, err := g.dir()
	if err != nil {
		return "", nil, err
	}
	cfg, err := config.Load(config.LoadOptions{
		Path: d.Config(), Env: os.Environ(), Flags: flags, FlagKeys: flagKeys,
		Vars: map[string]string{"home": d.String()},
	})
	return d, cfg, err
}
