package cli

import (
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

func TestPrintPeersMarksV1Peers(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		list     []network.PeerStatus
		want     []string
		wantNone []string
	}{
		"native peer only": {
			list:     []network.PeerStatus{{Peer: peers.Peer{NodeID: "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Name: "Ann", Contact: true, Protocol: peers.ProtocolDPTP}, State: "connected"}},
			want:     []string{"dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Ann", "contact", "dptp/1", "connected"},
			wantNone: []string{"D-PC v1", "weaker"},
		},
		"a D-PC v1 peer": {
			list: []network.PeerStatus{{Peer: peers.Peer{NodeID: "dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Name: "Py", Contact: true, Protocol: peers.ProtocolV1}, State: "connected"}},
			want: []string{"D-PC v1 (weaker auth*)", "* A D-PC v1 (Python D-PC Messenger) peer proves its key by signing a nonce that is not bound to the TLS",
				"Its node_id is still checked against its key."},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			printPeers(&b, tc.list)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("want %q in\n%s", w, b.String())
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(b.String(), w) {
					t.Errorf("want no %q in\n%s", w, b.String())
				}
			}
		})
	}
}
