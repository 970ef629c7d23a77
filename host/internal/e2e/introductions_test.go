package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntroduceLetsAVouchedNodeInvite: alice, a contact of bob and of
// carol, runs `dpc introduce CAROL --to BOB`; bob's node then keeps the
// introduction, lists it, and its firewall (with the "introduced" rule
// uncommented) lets carol invite bob to channels although carol is not
// bob's contact. Before, there was no dpc introduce and no "introduced".
func TestIntroduceLetsAVouchedNodeInvite(t *testing.T) {
	t.Parallel()
	a, b, c := newPeer(t, "alice"), newPeer(t, "bob"), newPeer(t, "carol")
	rules := "rule \"group\" \"contacts\" { allow = [\"messages\", \"channel_invites\"] }\n" +
		"rule \"group\" \"introduced\" { allow = [\"channel_invites\"] }\n"
	if err := os.WriteFile(filepath.Join(b.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a.run()
	b.run()
	c.run()
	contacts(t, a, b)
	contacts(t, a, c)

	if out, _, code := b.dpc("firewall", "check", c.id, "channel_invites"); code != 1 {
		t.Fatalf("before the introduction: want carol denied (exit 1), got exit %d: %s", code, out)
	}
	if _, errOut, code := a.dpc("introduce", a.id); code == 0 || !strings.Contains(errOut, "cannot introduce itself") {
		t.Errorf("introducing yourself: want a clear error, got exit %d: %s", code, errOut)
	}
	if _, errOut, code := a.dpc("introduce", c.id, "--to", "dpc-node-0123456789abcdef0123456789abcdef"); code == 0 || !strings.Contains(errOut, "not a contact") {
		t.Errorf("--to a stranger: want a clear error, got exit %d: %s", code, errOut)
	}
	out := a.must("introduce", c.id, "--to", b.id)
	if !strings.Contains(out, b.id+": delivered") || !strings.Contains(out, "Introduced "+c.id+": delivered to 1, queued for 0, refused by 0.") {
		t.Fatalf("dpc introduce: want delivered to bob, got:\n%s", out)
	}
	if out, _, code := b.dpc("firewall", "check", c.id, "channel_invites"); code != 0 || !strings.Contains(out, `"introduced"`) {
		t.Errorf("after the introduction: want carol allowed by the introduced rule (exit 0), got exit %d: %s", code, out)
	}

	var got struct {
		Received []struct {
			Voucher, Subject string
			Active           bool
		} `json:"received"`
	}
	decodeJSON(t, "dpc introductions --json", b.must("introductions", "--json"), &got)
	if len(got.Received) != 1 || got.Received[0].Voucher != a.id || got.Received[0].Subject != c.id || !got.Received[0].Active {
		t.Errorf("bob's introductions: want carol vouched for by alice, active, got %+v", got.Received)
	}
	if out := a.must("introductions"); !strings.Contains(out, "Sent:") || !containsAll(out, c.id, b.id) {
		t.Errorf("alice's introductions: want carol sent to bob, got:\n%s", out)
	}
}
