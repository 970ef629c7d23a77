package cli

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

func newHubCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Log in to the federation hub and see whether the node is reachable through it",
		Long: `A hub lets friends find this node by node_id or by search, and shows it
online while it is connected. The hub never sees a message: peers still
connect directly and verify each other's keys. Configure one in dpc.hcl:

  plugin "hub" "hub-dpc" { config { url = "https://hub.example" } }

then run dpc plugin lock and dpc run.

The login is kept (encrypted with a key derived from the node key) and
resumed at every start until the hub ends it or it expires; a new login
happens only when you run dpc hub login.

dpc hub link links an account of an identity provider (GitHub, Google,
SSO) to the node on the hub, for hubs that show or require one; the node
still logs in with its key.`,
	}
	var asJSON bool
	state := func(use, short, method, path string) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var st hubsvc.State
				if method == "GET" {
					err = c.Get(cmd.Context(), path, &st)
				} else {
					err = c.Post(cmd.Context(), path, struct{}{}, &st)
				}
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), st)
				}
				printHubState(cmd.OutOrStdout(), st)
				return nil
			},
		}
		c.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
		return c
	}
	cmd.AddCommand(
		state("login", "Log in to the hub with the node key and publish the profile", "POST", "/v1/hub/login"),
		state("logout", "Log out of the hub and forget the kept login", "POST", "/v1/hub/logout"),
		state("status", "Show whether the node is online, hub_offline or offline (logged out)", "GET", "/v1/hub"),
	)
	cmd.AddCommand(newHubAccountCmds(g)...)
	return cmd
}

func printHubState(w io.Writer, st hubsvc.State) {
	if st.Plugin == "" {
		fmt.Fprintln(w, "status   offline: no hub plugin is configured")
		fmt.Fprintln(w, `         add plugin "hub" "hub-dpc" { config { url = ... } } to dpc.hcl, then dpc plugin lock`)
		return
	}
	fmt.Fprintf(w, "status   %s (since %s)\n", st.Status, st.Since.Local().Format(time.DateTime))
	fmt.Fprintf(w, "plugin   %s\n", st.Plugin)
	if !st.SessionExpires.IsZero() {
		fmt.Fprintf(w, "login    kept until %s\n", st.SessionExpires.Local().Format(time.DateTime))
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "why      %s\n", textsafe.Line(st.LastError))
	}
}

func newLookupCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lookup NODE_ID",
		Short: "Ask the hub about a node: its name, whether it is online, its direct URIs",
		Long: `lookup asks the hub what it knows of a node. It is a hint, not a proof:
dpc connect with one of the URIs still checks that the node holds the key
behind its node_id. Needs dpc hub login.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var p api.HubPeer
			if err := c.Get(cmd.Context(), "/v1/hub/peers/"+url.PathEscape(args[0]), &p); err != nil {
				return err
			}
			if asJSON {
				p.URIs = nonNil(p.URIs)
				return printJSON(cmd.OutOrStdout(), p)
			}
			printHubPeer(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	return cmd
}

func printHubPeer(w io.Writer, p api.HubPeer) {
	fmt.Fprintf(w, "node_id     %s\n", p.NodeID)
	if p.Name != "" {
		fmt.Fprintf(w, "name        %s\n", textsafe.Line(p.Name))
	}
	fmt.Fprintf(w, "presence    %s\n", presence(p))
	if p.Profile.Description != "" {
		fmt.Fprintf(w, "about       %s\n", textsafe.Line(p.Profile.Description))
	}
	if len(p.Profile.Expertise) > 0 {
		fmt.Fprintf(w, "expertise   %s\n", expertise(p.Profile.Expertise))
	}
	for _, u := range p.URIs {
		fmt.Fprintf(w, "connect     dpc connect '%s'\n", textsafe.Line(u))
	}
}

func presence(p api.HubPeer) string {
	switch {
	case p.Online:
		return "online"
	case p.LastSeen.IsZero():
		return "offline"
	default:
		return "offline, last seen " + p.LastSeen.Local().Format(time.DateTime)
	}
}

func expertise(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = textsafe.Line(k) + "=" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ", ")
}

func newSearchCmd(g *globals) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search the hub's directory by name, description or expertise",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q := url.Values{"q": {args[0]}}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var res api.HubSearch
			if err := c.Get(cmd.Context(), "/v1/hub/search?"+q.Encode(), &res); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			out := cmd.OutOrStdout()
			if len(res.Peers) == 0 {
				fmt.Fprintln(out, "No node found.")
				return nil
			}
			for _, p := range res.Peers {
				fmt.Fprintf(out, "%s  %-8s  %s\n", p.NodeID, presence(p), textsafe.Line(p.Name))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many results (0: the hub's default)")
	return cmd
}

func newProfileCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Show or publish what this node publishes on the hub (dpc.hcl's profile block)",
		Long: `The profile is declared in dpc.hcl:

  profile {
    name         = "Alice"            # default: node.name
    description  = "Rust and Go"
    expertise    = { go = 4, rust = 3 }
    publish_uris = true               # also publish the direct dpc:// URIs
  }

dpc hub login publishes it; after editing dpc.hcl, restart dpc run and run
dpc profile publish.`,
	}
	var asJSON bool
	run := func(use, short, method string) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				var p api.HubProfile
				if method == "GET" {
					err = c.Get(cmd.Context(), "/v1/hub/profile", &p)
				} else {
					err = c.Post(cmd.Context(), "/v1/hub/profile", struct{}{}, &p)
				}
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), p)
				}
				out := cmd.OutOrStdout()
				if method != "GET" {
					fmt.Fprintln(out, "Published:")
				}
				fmt.Fprintf(out, "name         %s\n", textsafe.Line(p.Profile.Name))
				if p.Profile.Description != "" {
					fmt.Fprintf(out, "description  %s\n", textsafe.Line(p.Profile.Description))
				}
				if len(p.Profile.Expertise) > 0 {
					fmt.Fprintf(out, "expertise    %s\n", expertise(p.Profile.Expertise))
				}
				if len(p.URIs) == 0 {
					fmt.Fprintln(out, "uris         none published (profile { publish_uris = true } publishes them)")
				}
				for _, u := range p.URIs {
					fmt.Fprintf(out, "uri          %s\n", u)
				}
				return nil
			},
		}
		c.Flags().BoolVar(&asJSON, "json", false, "print the profile as JSON")
		return c
	}
	cmd.AddCommand(run("show", "Show what publishing sends", "GET"), run("publish", "Publish the profile on the hub", "POST"))
	return cmd
}
