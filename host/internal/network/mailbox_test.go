package network

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// TestMailboxDispatchTakesOnlyRegisteredValidCommands: a mailbox payload
// reaches a handler only if a capability registered its command with
// HandleMailbox (one registered for sessions alone is refused), and only
// once the router decoded and validated it; the handler gets the verified
// sender.
func TestMailboxDispatchTakesOnlyRegisteredValidCommands(t *testing.T) {
	r := newRouter(hclog.NewNullLogger())
	var got []string
	refuse := errors.New("the capability refuses")
	HandleMailbox(r, func(_ context.Context, from string, p dptp.ChannelOps) error {
		got = append(got, from+" "+p.ChannelID)
		if p.ChannelID == strings.Repeat("ff", 32) {
			return refuse
		}
		return nil
	})
	Handle(r, func(context.Context, *session.Session, dptp.SendText) error { return nil })
	const alice = "dpc-node-0123456789abcdef0123456789abcdef"
	ops := func(ch string) []byte { return []byte(`{"channel_id":"` + ch + `","ops":["AAEC"]}`) }
	tests := map[string]struct {
		command string
		payload []byte
		want    error
		handled bool
	}{
		"a registered command":                   {command: dptp.CmdChannelOps, payload: ops(strings.Repeat("ab", 32)), handled: true},
		"a command registered for sessions only": {command: dptp.CmdSendText, payload: []byte(`{"message_id":"m","text":"hi"}`), want: ErrNotMailboxCommand},
		"a command nobody registered":            {command: "NO_SUCH", payload: []byte(`{}`), want: ErrNotMailboxCommand},
		"an invalid payload":                     {command: dptp.CmdChannelOps, payload: ops("not hex"), want: dptp.ErrInvalidPayload},
		"a payload that is no JSON object":       {command: dptp.CmdChannelOps, payload: []byte(`[1]`), want: dptp.ErrInvalidPayload},
		"the handler's refusal":                  {command: dptp.CmdChannelOps, payload: ops(strings.Repeat("ff", 32)), want: refuse, handled: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got = nil
			err := r.DispatchMailbox(context.Background(), alice, tc.command, tc.payload)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.handled != (len(got) == 1) || tc.handled && !strings.HasPrefix(got[0], alice+" ") {
				t.Fatalf("handler saw %q, want handled=%v from alice", got, tc.handled)
			}
			if r.AcceptsMailbox(tc.command) != (tc.command == dptp.CmdChannelOps) {
				t.Errorf("AcceptsMailbox(%s) = %v", tc.command, r.AcceptsMailbox(tc.command))
			}
		})
	}
}
