package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

func TestMatchPeerTakesNamesAndPrefixes(t *testing.T) {
	t.Parallel()
	const (
		bob   = "dpc-node-b0b00000000000000000000000000001"
		bob2  = "dpc-node-b0b00000000000000000000000000002"
		carol = "dpc-node-ca000000000000000000000000000003"
	)
	list := []network.PeerStatus{
		{Peer: peers.Peer{NodeID: bob, Name: "Bob", Contact: true}},
		{Peer: peers.Peer{NodeID: bob2, Name: "Bob", Contact: true}},
		{Peer: peers.Peer{NodeID: carol, Name: "Carol"}},
	}
	tests := map[string]struct {
		arg      string
		want     string
		wantErr  error
		wantText []string
	}{
		"a full node_id, even of an unknown node": {arg: "dpc-node-0123456789abcdef0123456789abcdef", want: "dpc-node-0123456789abcdef0123456789abcdef"},
		"a name, whatever its case":               {arg: "carol", want: carol},
		"a unique prefix with dpc-node-":          {arg: "dpc-node-ca", want: carol},
		"a unique prefix without dpc-node-":       {arg: "b0b00000000000000000000000000001", want: bob},
		"two peers of the same name are ambiguous": {arg: "bob", wantErr: ErrAmbiguousPeer,
			wantText: []string{"matches 2 peers", "Bob (" + bob + ")", "Bob (" + bob2 + ")"}},
		"a prefix of several is ambiguous": {arg: "b0b", wantErr: ErrAmbiguousPeer, wantText: []string{bob, bob2}},
		"an unknown name":                  {arg: "dave", wantErr: ErrNoSuchPeer, wantText: []string{`"dave"`, "dpc peers"}},
		"a malformed node_id is explained": {arg: "dpc-node-XYZ", wantErr: ErrInvalidNodeID, wantText: []string{"32 hex digits"}},
		"an empty argument":                {arg: "", wantErr: ErrNoSuchPeer, wantText: []string{"empty"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := matchPeer(list, tc.arg)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("want %s, got %q, %v", tc.want, got, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %q, %v", tc.wantErr, got, err)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in %q", w, err)
				}
			}
		})
	}
}
