package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

// TestPeerTextWithTerminalEscapesNeutralised: what a peer sends (message
// text, its name, file names, refusal reasons, context paths, a remote
// model's answer) reaches the terminal with its control characters and
// bidirectional overrides shown as visible escapes, never raw. Before, an
// ESC in a message could clear the screen or set the window title.
func TestPeerTextWithTerminalEscapesNeutralised(t *testing.T) {
	t.Parallel()
	const (
		peer  = "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		evil  = "Eve\x1b[2J\x1b]0;owned\a\u202egnp.exe\u009b"
		shown = `Eve\x1b[2J\x1b]0;owned\x07<U+202E>gnp.exe\x9b`
	)
	tests := map[string]struct {
		print func(*strings.Builder)
		want  []string
	}{
		"message text keeps its lines": {
			print: func(b *strings.Builder) {
				b.WriteString(formatMessage(chat.Message{Peer: peer, From: peer, Text: evil + "\nline two", SentAt: time.Now(), State: chat.StateReceived}))
			},
			want: []string{shown + "\nline two"},
		},
		"refusal reason": {
			print: func(b *strings.Builder) {
				b.WriteString(formatMessage(chat.Message{Peer: peer, To: peer, Text: "hi", State: chat.StateDenied, Reason: evil}))
			},
			want: []string{"[refused: " + shown + "]"},
		},
		"peer name and reason": {
			print: func(b *strings.Builder) {
				printPeers(b, []network.PeerStatus{{Peer: peers.Peer{NodeID: peer, Name: evil, Contact: true}, State: "offline", Reason: evil}})
			},
			want: []string{shown},
		},
		"file name and cancel reason": {
			print: func(b *strings.Builder) {
				_ = printTransfers(b, []files.Transfer{
					{ID: "t1", Peer: peer, Direction: files.Incoming, Name: evil, SHA256: strings.Repeat("a", 64), State: files.StateCancelled, Reason: evil},
					{ID: "t2", Peer: peer, Direction: files.Incoming, Name: "big.iso", SHA256: strings.Repeat("b", 64), State: files.StateWaiting, Size: 1 << 30},
				})
			},
			want: []string{shown, "waiting for you", "dpc transfers accept t2"},
		},
		"ask: answer, sources and missing peers": {
			print: func(b *strings.Builder) {
				p := askPrinter{w: b}
				for _, e := range []intel.Event{
					{Type: "source", Source: &intel.Source{Label: evil, NodeID: peer, Paths: []string{"knowledge." + evil}}},
					{Type: "missing", Missing: &intel.Missing{NodeID: peer, Name: evil, Reason: evil}},
					{Type: "delta", Text: evil + "\n"},
					{Type: "done", Done: &intel.Summary{Model: "m", On: peer, Missing: []intel.Missing{{NodeID: peer, Name: evil, Reason: evil}}}},
				} {
					if err := p.print(e); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: []string{shown + ": knowledge." + shown, "no context from " + shown + " (" + peer + "): " + shown, shown + "\n"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			tc.print(&b)
			out := b.String()
			if strings.ContainsAny(out, "\x1b\a\u202e\u009b") {
				t.Errorf("raw escape or override printed: %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in\n%q", w, out)
				}
			}
		})
	}
}
