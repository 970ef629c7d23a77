package e2e

import (
	"regexp"
	"testing"
)

// TestPeersRTTShowsTheRoundTrip: `dpc peers --rtt` pings each connected
// peer and shows its round trip, as text and in --json. Before, there was
// no PING and no --rtt.
func TestPeersRTTShowsTheRoundTrip(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	t.Run("text", func(t *testing.T) {
		out := a.must("peers", "--rtt")
		if !regexp.MustCompile(`(?m)^\s+` + b.id + `\s+\d+\.\d+ ms$`).MatchString(out) {
			t.Errorf("want a round trip in ms for %s, got:\n%s", b.id, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		var got struct {
			RTT []struct {
				Peer   string  `json:"peer"`
				Millis float64 `json:"rtt_ms"`
				Error  string  `json:"error"`
			} `json:"rtt"`
		}
		decodeJSON(t, "dpc peers --rtt --json", a.must("peers", "--rtt", "--json"), &got)
		if len(got.RTT) != 1 || got.RTT[0].Peer != b.id || got.RTT[0].Millis <= 0 || got.RTT[0].Error != "" {
			t.Errorf("want one positive round trip for %s, got %+v", b.id, got.RTT)
		}
	})
}
