package firewall

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/host/internal/filewatch"
)

// liveIntroduced is an IntroducedSet that changes while the engine runs, as
// the host's does when a contact is removed or an introduction expires.
type liveIntroduced struct {
	mu    sync.Mutex
	nodes map[string]bool
}

func (l *liveIntroduced) IsIntroduced(node string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nodes[node]
}

func (l *liveIntroduced) set(node string, in bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nodes[node] = in
}

const introducedMayInvite = `rule "group" "contacts" { allow = ["messages", "channel_invites"] }
rule "group" "introduced" { allow = ["channel_invites"] }
`

// TestIntroducedGroup: the built-in group "introduced" is what the engine's
// IntroducedSet says at the moment of the decision, survives a reload of
// the file, and grants only what its rule allows. Before, "introduced" was
// an undeclared group and no vouch could let a node invite.
func TestIntroducedGroup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall.hcl")
	if err := os.WriteFile(path, []byte(introducedMayInvite), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Check(carol, ChannelInvites, nil); d.Allowed {
		t.Fatalf("want no introduced members before SetIntroduced, got allow by %s", d.Rule)
	}
	set := &liveIntroduced{nodes: map[string]bool{carol: true}}
	e.SetIntroduced(set)

	for _, step := range []struct {
		name     string
		do       func()
		node     string
		resource string
		want     bool
	}{
		{"introduced node may invite", nil, carol, ChannelInvites, true},
		{"introduced node may not send messages", nil, carol, Messages, false},
		{"node nobody vouched for may not invite", nil, stranger, ChannelInvites, false},
		{"voucher removed: no longer introduced", func() { set.set(carol, false) }, carol, ChannelInvites, false},
		{"vouched for again", func() { set.set(carol, true) }, carol, ChannelInvites, true},
		{"rules reloaded: the set still answers", func() {
			if !e.replace(filewatch.Snapshot{Exists: true, Data: []byte(introducedMayInvite + "# edited\n")}) {
				t.Fatal("want the edited file applied")
			}
		}, carol, ChannelInvites, true},
		{"rule for introduced removed", func() {
			if !e.replace(filewatch.Snapshot{Exists: true, Data: []byte(contactsMay(Messages))}) {
				t.Fatal("want the edited file applied")
			}
		}, carol, ChannelInvites, false},
		{"file removed: nothing allowed", func() { e.replace(filewatch.Snapshot{}) }, carol, ChannelInvites, false},
	} {
		if step.do != nil {
			step.do()
		}
		if d := e.Check(step.node, step.resource, contacts{dave}); d.Allowed != step.want {
			t.Errorf("%s: want %s, got %s by %s", step.name, verdict(step.want), verdict(d.Allowed), d.Rule)
		}
		// Rules taken from the engine (as package intel does) see it too.
		if d := e.Rules().Check(step.node, step.resource, contacts{dave}); d.Allowed != step.want {
			t.Errorf("%s, through Rules(): want %s, got %s by %s", step.name, verdict(step.want), verdict(d.Allowed), d.Rule)
		}
	}
}
