package turnserver

import (
	"testing"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// FuzzParseUsername: TURN usernames come from anyone who sends a packet to
// the TURN port. Whatever ParseUsername accepts names a valid node_id and
// is exactly the username the hub would issue for it.
func FuzzParseUsername(f *testing.F) {
	f.Add("1800000000:" + alice)
	f.Add("+1800000000:" + alice)
	f.Add("0:" + alice)
	f.Add(":" + alice)
	f.Add("1800000000:" + alice + ":x")
	f.Add("99999999999999999999:" + alice)
	f.Fuzz(func(t *testing.T, u string) {
		exp, nodeID, err := ParseUsername(u)
		if err != nil {
			return
		}
		if !dpcuri.ValidNodeID(nodeID) || exp.Unix() <= 0 {
			t.Fatalf("accepted %q as node %q expiring %v", u, nodeID, exp)
		}
		if again := Username(exp, nodeID); again != u {
			t.Fatalf("accepted %q, which the hub would issue as %q", u, again)
		}
	})
}
