package cli

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

func newChannelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channel",
		Short: "Multi-user channels: create, invite, post, read",
		Long: `A channel is a group of nodes with per-channel keys: every operation is
signed by its author, posts are sealed with the channel's current key, and
removing a member starts a new key that member never gets. Members who are
online receive new operations at once; the others catch up when they
connect (or with dpc channel sync).

An invite is kept only if your firewall allows the inviter the
"channel_invites" resource; you join only when you accept it.`,
	}
	cmd.AddCommand(newChannelCreateCmd(g), newChannelListCmd(g), newChannelInviteCmd(g), newChannelInvitesCmd(g),
		newChannelAcceptCmd(g), newChannelRemoveCmd(g), newChannelGrantCmd(g), newChannelPostCmd(g),
		newChannelLogCmd(g), newChannelMembersCmd(g), newChannelCloseCmd(g), newChannelSyncCmd(g), newChannelStateCmd(g))
	return cmd
}

// channelPath is the API path of a channel, checked first for a clear error.
func channelPath(id string, rest string) (string, error) {
	if _, err := channels.ParseChannel(id); err != nil {
		return "", err
	}
	return "/v1/channels/" + id + rest, nil
}

func newChannelCreateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a channel; prints its id as the last line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var res api.ChannelCreated
			if err := c.Post(cmd.Context(), "/v1/channels", api.ChannelCreateRequest{Name: args[0]}, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created channel %q. Invite members with dpc channel invite CH NODE_ID.\n%s\n", textsafe.Line(args[0]), res.Channel)
			return nil
		},
	}
}

func newChannelListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the channels this node joined",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var list []channels.State
			if err := c.Get(cmd.Context(), "/v1/channels", &list); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(list))
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No channels. dpc channel create NAME makes one; dpc channel invites lists invites.")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANNEL\tNAME\tMEMBERS\tPOSTS\tCLOSED")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%t\n", s.Channel, textsafe.Line(s.Name), s.Members, s.Posts, s.Closed)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the channels as a JSON array")
	return cmd
}

func newChannelInviteCmd(g *globals) *cobra.Command {
	var perms []string
	cmd := &cobra.Command{
		Use:   "invite CH NODE_ID",
		Short: "Invite a node into a channel (it must have had a session with yours)",
		Long: `invite adds NODE_ID to the channel with the permissions given (--perm,
repeatable: read, write, invite, remove, close, admin, all; default read and
write), wrapping the channel key to the node's envelope key, which your node
learned from a session with it. The node joins when it accepts.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return channelMemberOp(cmd, g, args[0], "/invite", api.ChannelMemberRequest{Node: args[1], Perms: perms},
				fmt.Sprintf("Invited %s; it joins when it runs dpc channel accept %s.", args[1], args[0]))
		},
	}
	cmd.Flags().StringArrayVar(&perms, "perm", nil, "a permission to grant (repeatable)")
	return cmd
}

func newChannelGrantCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "grant CH NODE_ID PERM...",
		Short: "Set a member's permissions (needs admin; never more than you hold)",
		Args:  cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return channelMemberOp(cmd, g, args[0], "/grant", api.ChannelMemberRequest{Node: args[1], Perms: args[2:]},
				fmt.Sprintf("Granted %s: %v.", args[1], args[2:]))
		},
	}
}

func channelMemberOp(cmd *cobra.Command, g *globals, ch, rest string, req api.ChannelMemberRequest, done string) error {
	path, err := channelPath(ch, rest)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	if err := c.Post(cmd.Context(), path, req, nil); err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), done)
	return nil
}

func newChannelInvitesCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "invites",
		Short: "List the channel invites received and not accepted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var list []channels.Invite
			if err := c.Get(cmd.Context(), "/v1/channel-invites", &list); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(list))
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No pending invites.")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANNEL\tFROM\tPERMS\tRECEIVED")
			for _, in := range list {
				fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\n", in.Channel, in.From, textsafe.Line(in.FromName), in.Perms,
					time.UnixMilli(in.Received).Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the invites as a JSON array")
	return cmd
}

// simpleChannelCmd is a command CH that posts to one route and prints done.
func simpleChannelCmd(g *globals, use, short, rest, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " CH",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], rest)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Post(cmd.Context(), path, struct{}{}, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), done)
			return nil
		},
	}
}

func newChannelAcceptCmd(g *globals) *cobra.Command {
	return simpleChannelCmd(g, "accept", "Join a channel you were invited to and fetch its log", "/accept", "Joined; the log is fetched.")
}

func newChannelCloseCmd(g *globals) *cobra.Command {
	return simpleChannelCmd(g, "close", "Close a channel: no operation after it is accepted", "/close", "Closed.")
}

func newChannelRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove CH NODE_ID",
		Short: "Remove a member; the channel key is replaced by one it never gets",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], "/members/"+url.PathEscape(args[1]))
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Delete(cmd.Context(), path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %s; the channel has a new key.\n", args[1])
			return nil
		},
	}
}

func newChannelPostCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "post CH TEXT",
		Short: "Post a message to a channel",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], "/posts")
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var res api.ChannelPosted
			if err := c.Post(cmd.Context(), path, api.ChannelPostRequest{Text: args[1]}, &res); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.ID)
			return nil
		},
	}
}

func newChannelLogCmd(g *globals) *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "log CH",
		Short: "Show a channel's posts, oldest first, decrypted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], "/posts?limit="+strconv.Itoa(limit))
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var posts []channels.Post
			if err := c.Get(cmd.Context(), path, &posts); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(posts))
			}
			printChannelLog(cmd.OutOrStdout(), posts)
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "show the last N posts (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the posts as a JSON array")
	return cmd
}

func printChannelLog(w io.Writer, posts []channels.Post) {
	for _, p := range posts {
		who := p.Author
		if p.AuthorName != "" {
			who = textsafe.Line(p.AuthorName) + " (" + p.Author + ")"
		}
		text := textsafe.Line(p.Text)
		switch {
		case p.Redacted:
			text = "[redacted]"
		case p.Unreadable != "":
			text = "[cannot decrypt: " + textsafe.Line(p.Unreadable) + "]"
		case p.Edited:
			text += " (edited)"
		}
		fmt.Fprintf(w, "%s  %s: %s\n", time.UnixMilli(p.TimeMs).Format(time.DateTime), who, text)
	}
}

func newChannelMembersCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "members CH",
		Short: "List a channel's members and their permissions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], "/members")
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var ms []channels.Member
			if err := c.Get(cmd.Context(), path, &ms); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), nonNil(ms))
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE_ID\tNAME\tPERMS")
			for _, m := range ms {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", m.NodeID, textsafe.Line(m.Name), m.Perms)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the members as a JSON array")
	return cmd
}

func newChannelSyncCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sync CH",
		Short: "Exchange missing operations with every online member now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], "/sync")
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var res []channels.SyncResult
			if err := c.Post(cmd.Context(), path, struct{}{}, &res); err != nil {
				return err
			}
			if len(res) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No member is online.")
			}
			for _, r := range res {
				if r.Error != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "%s  failed: %s\n", r.Peer, textsafe.Line(r.Error))
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  synced\n", r.Peer)
			}
			return nil
		},
	}
}

func newChannelStateCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "state CH",
		Short: "Show a channel's resolved state; the last line is its state hash",
		Long: `state prints the channel's counts and, as its last line, the state hash:
every member holding the same operations prints the same hash.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := channelPath(args[0], "")
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var st channels.State
			if err := c.Get(cmd.Context(), path, &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "name: %s\nmembers: %d\nepochs: %d\nclosed: %t\naccepted: %d\nrefused: %d\npending: %d\nposts: %d\n",
				textsafe.Line(st.Name), st.Members, st.Epochs, st.Closed, st.Accepted, st.Refused, st.Pending, st.Posts)
			if st.Removed != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "removed: %s (this node is no longer a member)\n", textsafe.Line(st.Removed))
			}
			fmt.Fprintln(cmd.OutOrStdout(), st.Hash)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the state as a JSON object")
	return cmd
}
