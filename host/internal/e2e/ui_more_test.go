package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dpc-go/dpc/host/internal/plugins"
)

// TestUIChannelsLive: Alice creates a channel in her UI and invites Bob
// with a permission picked in the form; Bob accepts in his UI; his post
// shows live in Alice's channel view; the members list shows each one's
// permissions, and Bob, who may not administer the channel, is offered
// neither permission changes, removal nor closing.
func TestUIChannelsLive(t *testing.T) {
	t.Parallel()
	alice, bob := newPeer(t, "alice"), newPeer(t, "bob")
	alice.run()
	bob.run()
	contacts(t, alice, bob)

	ta := newBrowser(t)
	tb := ta.newTab()
	baseA, baseB := uiLogin(t, ta, alice), uiLogin(t, tb, bob)
	ta.do("alice opens her channels", chromedp.Navigate(baseA+"/#/channels"))
	ta.text("#channel-name")
	ta.do("alice creates a channel", chromedp.SendKeys(chromedp.CSS("#channel-name"), "ui-room"),
		chromedp.Click(chromedp.CSS(`#channel-create button[type="submit"]`)))
	ta.waitJS("the new channel's view", `location.hash.startsWith("#/channel/") && document.querySelector("#view-title")?.textContent === "Channel ui-room"`)
	ta.waitJS("bob among the contacts to invite", `!!document.querySelector('#invite-node option[value="`+bob.id+`"]')`)
	ta.do("alice invites bob, who may also invite",
		chromedp.SetValue(chromedp.CSS("#invite-node"), bob.id),
		chromedp.Click(chromedp.CSS("#invite-perm-invite")),
		chromedp.Click(chromedp.CSS(`#invite button[type="submit"]`)))
	ta.waitJS("bob a member with read, write and invite", `document.querySelector('#members li[data-node="`+bob.id+`"]')?.dataset.perms === "read,write,invite"`)
	if got := ta.text(`#members li[data-node="` + alice.id + `"] .perms-text`); got != "read,write,invite,remove,close,admin" {
		t.Errorf("alice's own permissions on her screen: %q, want all of them", got)
	}

	tb.do("bob opens his channels", chromedp.Navigate(baseB+"/#/channels"))
	tb.waitJS("alice's invite on bob's screen", `!!document.querySelector("#channel-invites li[data-channel] button.accept")`)
	tb.screenshot("bob-invited")
	tb.do("bob joins", chromedp.Click(chromedp.CSS("#channel-invites li[data-channel] button.accept")))
	tb.waitJS("bob in the channel", `location.hash.startsWith("#/channel/") && !document.querySelector("#post").hidden`)
	tb.waitJS("bob sees his permissions", `document.querySelector('#members li[data-node="`+bob.id+`"]')?.dataset.perms === "read,write,invite"`)
	tb.waitJS("bob is offered no admin action", `!document.querySelector("#members details") && !document.querySelector("#members button") && !document.querySelector("#close-channel")`)

	tb.do("bob posts", chromedp.SendKeys(chromedp.CSS("#post-text"), "hello from bob's browser"),
		chromedp.Click(chromedp.CSS(`#post button[type="submit"]`)))
	ta.waitJS("bob's post live on alice's screen", `[...document.querySelectorAll("#posts .msg.in .text")].some(e => e.textContent === "hello from bob's browser")`)
	ta.waitJS("alice is offered the admin actions", `!!document.querySelector('#members li[data-node="`+bob.id+`"] details') && !!document.querySelector("#close-channel")`)
	ta.screenshot("alice-channel")
	tb.screenshot("bob-channel")
}

// TestUIFileTransferProgress: Alice sends a file from her UI (an upload to
// her node); it is larger than Bob's ask_above_mb, so Bob's UI shows it
// waiting with an Accept button; once he accepts it there, his UI follows
// it transferring to completed, and the bytes on his disk are Alice's.
func TestUIFileTransferProgress(t *testing.T) {
	t.Parallel()
	alice, bob := newPeer(t, "alice"), newPeer(t, "bob")
	rules := "rule \"group\" \"contacts\" {\n  allow = [\"messages\", \"files\", \"history\"]\n  files {\n    ask_above_mb = 1\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(bob.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	alice.run()
	bob.run()
	contacts(t, alice, bob)
	src := writeRandomFile(t, 24<<20+77)

	ta := newBrowser(t)
	tb := ta.newTab()
	baseA, baseB := uiLogin(t, ta, alice), uiLogin(t, tb, bob)
	tb.do("bob opens his files", chromedp.Navigate(baseB+"/#/files"))
	tb.text("#transfers")
	// Record every state and progress value Bob's screen shows, to check
	// it followed the transfer live.
	tb.do("recording bob's screen", chromedp.Evaluate[chromedp.Void](`(() => {
		window.seen = [];
		const note = () => {
			const li = document.querySelector('#transfers li[data-direction="in"]');
			const bar = li?.querySelector("progress");
			if (bar) window.seen.push([li.dataset.state, Number(bar.value), Number(bar.max)]);
		};
		new MutationObserver(note).observe(document.querySelector("#transfers"), { childList: true, subtree: true, attributes: true });
	})()`))

	ta.do("alice opens her files", chromedp.Navigate(baseA+"/#/files"))
	ta.waitJS("bob among the recipients", `!!document.querySelector('#send-to option[value="`+bob.id+`"]')`)
	ta.do("alice picks the file and sends it",
		chromedp.SetValue(chromedp.CSS("#send-to"), bob.id),
		chromedp.SetUploadFiles(chromedp.CSS("#send-file"), []string{src}),
		chromedp.Click(chromedp.CSS(`#send button[type="submit"]`)))
	ta.waitJS("the upload done and offered", `document.querySelector("#send-status").textContent === "payload.bin offered to bob"`)
	ta.waitJS("the transfer in alice's list", `!!document.querySelector('#transfers li[data-direction="out"] progress')`)

	t.Cleanup(func() {
		if t.Failed() {
			tb.screenshot("on-failure-bob")
			ta.screenshot("on-failure-alice")
			t.Logf("alice:\n%s\nbob:\n%s", alice.d.stderr, bob.d.stderr)
		}
	})
	tb.waitJS("the offer waiting on bob's screen", `!!document.querySelector('#transfers li[data-direction="in"][data-state="waiting"] button.accept')`)
	tb.screenshot("bob-waiting")
	tb.do("bob accepts", chromedp.Click(chromedp.CSS(`#transfers li[data-direction="in"] button.accept`)))
	tb.waitJS("completed on bob's screen", `(() => {
		const li = document.querySelector('#transfers li[data-direction="in"][data-state="completed"]');
		const bar = li?.querySelector("progress");
		return bar && Number(bar.value) === `+fmt.Sprint(24<<20+77)+` && Number(bar.max) === Number(bar.value);
	})()`)
	ta.waitJS("sent on alice's screen", `!!document.querySelector('#transfers li[data-direction="out"][data-state="completed"]')`)
	tb.screenshot("bob-received")
	ta.screenshot("alice-sent")

	seen, err := chromedp.Run(tb.tab, chromedp.Evaluate[[][3]any](`window.seen`))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]bool{}
	partial := 0
	for _, s := range seen {
		states[fmt.Sprint(s[0])] = true
		if v, m := s[1].(float64), s[2].(float64); v > 0 && v < m {
			partial++
		}
	}
	if !states["waiting"] || !states["transferring"] || !states["completed"] {
		t.Errorf("bob's screen: want it to follow waiting → transferring → completed live, saw states %v", states)
	}
	if partial == 0 {
		t.Errorf("bob's screen: want the progress bar between empty and full at least once, saw %v", seen)
	}
	t.Logf("bob's screen showed %d partial progress values of %d updates", partial, len(seen))
	if !sameFile(t, src, filepath.Join(bob.home, "files", alice.id, "payload.bin")) {
		t.Fatalf("the file bob received differs from the one alice uploaded")
	}
}

// TestUIPluginsAndHub: the plugins screen lists the node's plugins running
// with the digests pinned in dpc.lock.hcl and what each may do, and
// follows a crashed plugin's restart live; the hub
// screen logs in to a real dpc-hub and follows a logout made from the
// terminal live. Then every screen, in a phone-sized window, fits its
// width.
func TestUIPluginsAndHub(t *testing.T) {
	t.Parallel()
	hub := newHub(t)
	a := newPeerWith(t, "alice", hubPlugin(hub.url()))
	a.run()
	lock, err := os.ReadFile(filepath.Join(a.home, "dpc.lock.hcl"))
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	base := uiLogin(t, b, a)
	b.do("opening the plugins", chromedp.Navigate(base+"/#/plugins"))
	for id, grant := range map[string]string{"transport/transport-direct": "hub-relay", "hub/hub-dpc": "sign:hub-login/v1"} {
		b.waitJS(id+" running", `document.querySelector('#plugins li[data-id="`+id+`"]')?.dataset.state === "running"`)
		sum := b.text(`#plugins li[data-id="` + id + `"] .sha256`)
		if len(sum) != 64 || !strings.Contains(string(lock), sum) {
			t.Errorf("%s: the screen shows sha256 %q, want the one pinned in dpc.lock.hcl:\n%s", id, sum, lock)
		}
		b.waitJS(id+" may "+grant, `!!document.querySelector('#plugins li[data-id="`+id+`"] li[data-grant="`+grant+`"]')`)
	}
	b.waitJS("a transport may not sign", `!document.querySelector('#plugins li[data-id="transport/transport-direct"] li[data-grant^="sign:"]')`)
	b.screenshot("plugins")
	// A crash shows live: the supervisor's restart reaches the screen as
	// "plugin" events, with the restart counted.
	st := a.waitStatus(a.d, "transport/transport-direct", time.Minute, "the transport's pid", func(s plugins.Status) bool { return s.PID > 0 })
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the restart on the screen", `(() => {
		const li = document.querySelector('#plugins li[data-id="transport/transport-direct"]');
		return li?.dataset.state === "running" && li.querySelector(".restarts")?.textContent === "1";
	})()`)
	b.screenshot("plugins-restarted")

	b.do("opening the hub", chromedp.Navigate(base+"/#/hub"))
	b.waitJS("offline with a login button", `document.querySelector("#hub-status")?.dataset.state === "offline" && !!document.querySelector("#hub-login")`)
	b.do("logging in", chromedp.Click(chromedp.CSS("#hub-login")))
	b.waitJS("online on the screen", `document.querySelector("#hub-status")?.dataset.state === "online" && !!document.querySelector("#hub-logout")`)
	b.waitJS("the published profile", `document.querySelector("#hub-profile dd")?.textContent === "alice"`)
	b.screenshot("hub-online")
	a.must("hub", "logout")
	b.waitJS("the terminal's logout live on the screen", `document.querySelector("#hub-status")?.dataset.state === "offline" && !!document.querySelector("#hub-login")`)

	b.do("a phone-sized window", chromedp.EmulateViewport(375, 812))
	for _, screen := range []string{"", "contacts", "files", "channels", "plugins", "hub"} {
		b.do("opening #/"+screen+" on a phone", chromedp.Navigate(base+"/#/"+screen))
		b.text("#view-title")
		b.waitJS("#/"+screen+" fitting 375 px, with no stray null shown", `document.documentElement.scrollWidth <= 375 && !document.querySelector("#view").textContent.includes("null")`)
		name := screen
		if name == "" {
			name = "identity"
		}
		b.screenshot("phone-" + name)
	}
}

// TestUIFileTransferResumesAfterSenderKilled: Alice's node dies while the
// file she uploaded from her UI is on its way; Bob's UI says the transfer
// is paused until she is back, and once her node runs again (from the
// staged copy of the upload, which stays until the transfer is over) his
// UI follows it to completed, with the bytes equal.
func TestUIFileTransferResumesAfterSenderKilled(t *testing.T) {
	t.Parallel()
	alice, bob := newPeer(t, "alice"), newPeer(t, "bob")
	// 200 MiB is above the default ask_above_mb; this test is about resuming.
	rules := "rule \"group\" \"contacts\" {\n  allow = [\"messages\", \"files\", \"history\"]\n  files {\n    ask_above_mb = 0\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(bob.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	alice.run()
	bob.run()
	contacts(t, alice, bob)
	const size = 200 << 20
	src := writeRandomFile(t, size)

	ta := newBrowser(t)
	tb := ta.newTab()
	baseA, baseB := uiLogin(t, ta, alice), uiLogin(t, tb, bob)
	tb.do("bob opens his files", chromedp.Navigate(baseB+"/#/files"))
	tb.text("#transfers")
	ta.do("alice opens her files", chromedp.Navigate(baseA+"/#/files"))
	ta.waitJS("bob among the recipients", `!!document.querySelector('#send-to option[value="`+bob.id+`"]')`)
	ta.do("alice uploads the file and sends it",
		chromedp.SetValue(chromedp.CSS("#send-to"), bob.id),
		chromedp.SetUploadFiles(chromedp.CSS("#send-file"), []string{src}),
		chromedp.Click(chromedp.CSS(`#send button[type="submit"]`)))

	tb.waitJS("part of the file on bob's screen", `(() => {
		const bar = document.querySelector('#transfers li[data-direction="in"] progress');
		return bar && Number(bar.value) > 0;
	})()`)
	_ = alice.d.cmd.Process.Signal(syscall.SIGKILL)
	err := <-alice.d.done
	alice.d.done <- err
	if sameFile(t, src, filepath.Join(bob.home, "files", alice.id, "payload.bin")) {
		t.Skip("the whole file arrived before alice was killed; nothing to resume")
	}
	tb.waitJS("paused on bob's screen, keeping the progress made", `(() => {
		const li = document.querySelector('#transfers li[data-direction="in"]');
		return li?.querySelector(".transfer-state")?.textContent === "paused: resumes when they reconnect" && Number(li.querySelector("progress").value) > 0;
	})()`)
	tb.screenshot("bob-paused")

	alice.run()
	tb.waitJS("completed on bob's screen", `(() => {
		const bar = document.querySelector('#transfers li[data-direction="in"][data-state="completed"] progress');
		return bar && Number(bar.value) === `+fmt.Sprint(size)+`;
	})()`)
	tb.screenshot("bob-resumed")
	if !sameFile(t, src, filepath.Join(bob.home, "files", alice.id, "payload.bin")) {
		t.Fatalf("after the restart: want bob's file equal to alice's\nbob's log:\n%s", bob.d.stderr)
	}
	if !strings.Contains(bob.d.stderr.String(), "resuming a file transfer") {
		t.Errorf("want the transfer resumed from bob's partial file, not restarted; log:\n%s", bob.d.stderr)
	}
}
