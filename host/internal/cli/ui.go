package cli

import (
	"fmt"
	"io"

	"github.com/pkg/browser"
	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// openBrowser opens a URL in the user's browser; tests replace it.
var openBrowser = func(url string) error {
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}

func newUICmd(g *globals) *cobra.Command {
	var printOnly bool
	cmd := &cobra.Command{
		Use:   "ui [--print]",
		Short: "Open the web UI of the running node in your browser",
		Long: `ui asks the running node for a one-time login link to its web UI and opens
it in your browser, or only prints it with --print (to open elsewhere on
this machine: the UI listens on 127.0.0.1 only). The link works once, within
two minutes; opening it logs that browser in until the node stops. The
link is the last line printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var link api.LoginLink
			if err := c.Post(cmd.Context(), "/v1/ui/login", struct{}{}, &link); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !printOnly {
				if err := openBrowser(link.URL); err != nil {
					fmt.Fprintf(out, "Could not open a browser (%s); open this link yourself, within two minutes:\n", textsafe.Line(err.Error()))
				} else {
					fmt.Fprintln(out, "Opened the web UI in your browser. The link, if it did not show up (it opens once, within two minutes):")
				}
			}
			fmt.Fprintln(out, link.URL)
			return nil
		},
	}
	cmd.Flags().BoolVar(&printOnly, "print", false, "print the login link instead of opening a browser")
	return cmd
}
