package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/textsafe"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

var (
	// ErrInvalidNodeID means an argument looks like a node_id but is not one.
	ErrInvalidNodeID = errors.New("not a node_id")
	// ErrNoSuchPeer means no known peer has the name or node_id prefix given.
	ErrNoSuchPeer = errors.New("no such peer")
	// ErrAmbiguousPeer means several known peers match what was given.
	ErrAmbiguousPeer = errors.New("ambiguous peer")
)

// resolvePeer turns what the user typed where a NODE_ID goes into a node_id:
// a node_id is taken as it is (it may be a node this one never met), anything
// else must be the display name of a known peer (case does not matter) or
// the start of its node_id, with or without "dpc-node-", and match exactly
// one peer. The running node's peer list decides.
func resolvePeer(ctx context.Context, c *api.Client, arg string) (string, error) {
	if dpcuri.ValidNodeID(arg) {
		return arg, nil
	}
	var list []network.PeerStatus
	if err := c.Get(ctx, "/v1/peers", &list); err != nil {
		return "", err
	}
	return matchPeer(list, arg)
}

// peerClient connects to the running node and resolves arg, a NODE_ID
// argument, with it (see resolvePeer).
func (g *globals) peerClient(ctx context.Context, arg string) (*api.Client, string, error) {
	c, err := g.client()
	if err != nil {
		return nil, "", err
	}
	id, err := resolvePeer(ctx, c, arg)
	return c, id, err
}

// resolvePeers is resolvePeer for each of args.
func resolvePeers(ctx context.Context, c *api.Client, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		id, err := resolvePeer(ctx, c, a)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// matchPeer picks the one peer of list that arg names; see resolvePeer.
func matchPeer(list []network.PeerStatus, arg string) (string, error) {
	if dpcuri.ValidNodeID(arg) {
		return arg, nil
	}
	if strings.TrimSpace(arg) == "" {
		return "", fmt.Errorf("%w: the peer is empty; give a node_id, a contact's name or the start of its node_id", ErrNoSuchPeer)
	}
	var found []network.PeerStatus
	for _, p := range list {
		if (p.Name != "" && strings.EqualFold(p.Name, arg)) ||
			strings.HasPrefix(p.NodeID, arg) || strings.HasPrefix(p.NodeID, dpcuri.NodeIDPrefix+arg) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0].NodeID, nil
	case 0:
		if strings.HasPrefix(arg, dpcuri.NodeIDPrefix) {
			return "", fmt.Errorf("%w: %q: a node_id is %q followed by 32 hex digits (0-9, a-f), and no known peer's node_id starts with it",
				ErrInvalidNodeID, arg, dpcuri.NodeIDPrefix)
		}
		return "", fmt.Errorf("%w: %q is not a node_id, and no known peer has that name or a node_id starting with it (`dpc peers` lists them)",
			ErrNoSuchPeer, arg)
	}
	lines := make([]string, 0, len(found))
	for _, p := range found {
		lines = append(lines, "  "+peerLabel(p.Name, p.NodeID))
	}
	slices.Sort(lines)
	return "", fmt.Errorf("%w: %q matches %d peers; give more of the node_id:\n%s", ErrAmbiguousPeer, arg, len(found), strings.Join(lines, "\n"))
}

// completionWait bounds how long shell completion waits for the node.
const completionWait = 2 * time.Second

// peerCompletions completes a NODE_ID from the running node's peers: their
// node_ids, described by name and relation, and their names (names with
// white space are left out: shells split them). With no node running there
// is nothing to offer.
func (g *globals) peerCompletions(cmd *cobra.Command, toComplete string) []cobra.Completion {
	c, err := g.client()
	if err != nil {
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionWait)
	defer cancel()
	var list []network.PeerStatus
	if c.Get(ctx, "/v1/peers", &list) != nil {
		return nil
	}
	var out []cobra.Completion
	for _, p := range list {
		if strings.HasPrefix(p.NodeID, toComplete) || strings.HasPrefix(p.NodeID, dpcuri.NodeIDPrefix+toComplete) {
			out = append(out, cobra.CompletionWithDesc(p.NodeID, strings.TrimSpace(textsafe.Line(p.Name)+" ("+relation(p)+")")))
		}
		// A name is offered only as it is typed: plain, one word.
		if p.Name != "" && textsafe.Line(p.Name) == p.Name && !strings.ContainsAny(p.Name, " \t\n") && strings.HasPrefix(strings.ToLower(p.Name), strings.ToLower(toComplete)) {
			out = append(out, cobra.CompletionWithDesc(p.Name, p.NodeID))
		}
	}
	return out
}

// firewallResources are the resources `firewall check` completes.
var firewallResources = []cobra.Completion{firewall.Messages, firewall.Files, firewall.History, firewall.Compute,
	firewall.ChannelInvites, firewall.ModelPrefix, firewall.ContextPrefix}

// completeResource completes the RESOURCE of `firewall check NODE_ID RESOURCE`.
func completeResource(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 1 {
		return firewallResources, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// registerPeerCompletion makes the shell complete the NODE_ID of every
// command that takes one as its first argument; ask's --peer and --on are
// registered with their flags.
func (g *globals) registerPeerCompletion(root *cobra.Command) {
	for _, c := range []struct {
		path []string
		rest cobra.CompletionFunc // the arguments after NODE_ID; nil: files
	}{
		{[]string{"send"}, noMoreArgs},
		{[]string{"chat"}, noMoreArgs},
		{[]string{"history"}, noMoreArgs},
		{[]string{"send-file"}, nil},
		{[]string{"peers", "accept"}, noMoreArgs},
		{[]string{"peers", "remove"}, noMoreArgs},
		{[]string{"firewall", "check"}, completeResource},
		{[]string{"introduce"}, noMoreArgs},
	} {
		cmd, _, err := root.Find(c.path)
		if err != nil || cmd == root {
			panic(fmt.Sprintf("cli: no command %v to complete", c.path)) // a renamed command: caught by any test
		}
		cmd.ValidArgsFunction = g.completeArgs([]int{0}, c.rest)
	}
}

// completeArgs completes positional arguments: peer positions from the
// running node's peers, others with fn (nil: files).
func (g *globals) completeArgs(peerAt []int, fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if slices.Contains(peerAt, len(args)) {
			return g.peerCompletions(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		if fn != nil {
			return fn(cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
}

// completePeerFlag completes a flag that takes a NODE_ID.
func (g *globals) completePeerFlag(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return g.peerCompletions(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// noMoreArgs completes nothing.
func noMoreArgs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}
