package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dpc-go/dpc/sdk/sdktest"
)

// TestUILoginLinkShowsNodeID is issue 16's CLI contract: with a running
// node, `dpc ui --print` prints a http://127.0.0.1: login URL as its last
// line; loading it in Chromium shows the node's node_id; the API answers
// 401 to a request with neither cookie nor token, and the link opens once.
func TestUILoginLinkShowsNodeID(t *testing.T) {
	t.Parallel()
	a := newPeer(t, "alice")
	a.run()
	link := lastLine(a.must("ui", "--print"))
	if !strings.HasPrefix(link, "http://127.0.0.1:") {
		t.Fatalf("dpc ui --print: last line %q, want a http://127.0.0.1: login URL", link)
	}
	base := link[:strings.Index(link, "/ui/login")]
	if code := httpStatus(t, http.MethodGet, base+"/v1/node", nil); code != http.StatusUnauthorized {
		t.Fatalf("GET /v1/node with neither cookie nor token: %d, want 401", code)
	}

	b := newBrowser(t)
	b.do("opening the login link", chromedp.Navigate(link))
	if got := b.text("#node-id"); got != a.id {
		t.Fatalf("the page shows node id %q, want %q", got, a.id)
	}
	b.screenshot("identity")

	if code := httpStatus(t, http.MethodGet, link, nil); code != http.StatusForbidden {
		t.Fatalf("opening the login link a second time: %d, want 403", code)
	}
}

// TestUIRefusesAnotherOrigin: a page of another origin (another port of
// 127.0.0.1, which browsers count as the same site, so the SameSite cookie
// goes along) in the browser that is logged in tries to read the API and to
// create a channel: it reads nothing, and the node creates nothing.
func TestUIRefusesAnotherOrigin(t *testing.T) {
	t.Parallel()
	a := newPeer(t, "alice")
	a.run()
	link := lastLine(a.must("ui", "--print"))
	base := link[:strings.Index(link, "/ui/login")]

	b := newBrowser(t)
	b.do("logging in", chromedp.Navigate(link))
	if got := b.text("#node-id"); got != a.id {
		t.Fatalf("the page shows node id %q, want %q", got, a.id)
	}

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><p id="out">running</p><script>
const api = %q;
(async () => {
  const out = [];
  try {
    await fetch(api + "/v1/channels", {method: "POST", mode: "no-cors", credentials: "include",
      headers: {"Content-Type": "text/plain"}, body: JSON.stringify({name: "planted"})});
    out.push("post sent");
  } catch (e) { out.push("post failed"); }
  try {
    const r = await fetch(api + "/v1/node", {credentials: "include"});
    out.push("read " + (await r.text()));
  } catch (e) { out.push("read blocked"); }
  document.getElementById("out").textContent = out.join("; ");
  document.title = "done";
})();
</script>`, base)
	}))
	t.Cleanup(evil.Close)
	b.do("opening a page of another origin", chromedp.Navigate(evil.URL),
		chromedp.Poll[chromedp.Void](`document.title === "done"`, chromedp.WithPollingTimeout(browserDeadline)))
	got := b.text("#out")
	b.screenshot("another-origin")
	if strings.Contains(got, a.id) {
		t.Fatalf("a page of another origin read the API: %s", got)
	}
	waitFor(t, time.Minute, "the node logging the refused request", func() bool {
		return strings.Contains(a.d.stderr.String(), "refused a browser request from another origin")
	})
	if out := a.must("channel", "list"); strings.Contains(out, "planted") {
		t.Fatalf("a page of another origin created a channel:\n%s", out)
	}
}

// httpStatus sends a request with no credentials and returns the status.
func httpStatus(t *testing.T, method, url string, body io.Reader) int {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// uiLogin opens a's login link in b and waits for its first screen.
func uiLogin(t *testing.T, b *browser, a *peer) (base string) {
	t.Helper()
	link := lastLine(a.must("ui", "--print"))
	b.do("opening "+a.name+"'s login link", chromedp.Navigate(link))
	if got := b.text("#node-id"); got != a.id {
		t.Fatalf("%s's page shows node id %q, want %q", a.name, got, a.id)
	}
	return link[:strings.Index(link, "/ui/login")]
}

// TestUIChatLive: Alice and Bob, contacts, each in a tab of their own UI;
// Alice's message shows up on Bob's screen without a reload, and turns
// "delivered" on hers; Bob's answer from the CLI shows up on hers.
func TestUIChatLive(t *testing.T) {
	t.Parallel()
	alice, bob := newPeer(t, "alice"), newPeer(t, "bob")
	alice.run()
	bob.run()
	contacts(t, alice, bob)

	ta := newBrowser(t)
	tb := ta.newTab()
	baseA, baseB := uiLogin(t, ta, alice), uiLogin(t, tb, bob)
	ta.do("alice opens her contacts", chromedp.Navigate(baseA+"/#/contacts"))
	ta.waitJS("bob verified and connected in alice's contacts", `(() => {
		const li = document.querySelector('#peers li[data-node="`+bob.id+`"]');
		return li && li.querySelector(".badge.ok")?.textContent === "verified" && li.querySelector(".state")?.dataset.state === "connected";
	})()`)
	ta.screenshot("alice-contacts")
	ta.do("alice opens the chat with bob", chromedp.Click(chromedp.CSS(`#peers li[data-node="`+bob.id+`"] a.peer-name`)))
	tb.do("bob opens the chat with alice", chromedp.Navigate(baseB+"/#/chat/"+alice.id))
	ta.text("#compose-text")
	tb.text("#compose-text")

	ta.do("alice writes", chromedp.SendKeys(chromedp.CSS("#compose-text"), "hello from the browser"),
		chromedp.Click(chromedp.CSS(`#compose button[type="submit"]`)))
	tb.waitJS("the message on bob's screen", `[...document.querySelectorAll(".msg.in .text")].some(e => e.textContent === "hello from the browser")`)
	ta.waitJS("delivered on alice's screen", `[...document.querySelectorAll(".msg.out")].some(e => e.dataset.state === "delivered" && e.textContent.includes("hello from the browser"))`)
	ta.screenshot("alice-sent")
	tb.screenshot("bob-received")

	bob.must("send", alice.id, "hello from the terminal")
	ta.waitJS("bob's answer on alice's screen", `[...document.querySelectorAll(".msg.in .text")].some(e => e.textContent === "hello from the terminal")`)
	ta.screenshot("alice-answered")
}

// TestUIEveryScreenIsAccessible walks every screen of the nav on a fresh
// node (its first run): each has a heading the view focuses, every form
// control has a label, every button and link has a name, every image a
// text alternative; the first Tab from the top reaches the skip link, and
// following it moves focus into the screen. The first screen shows the
// fingerprint `dpc id` prints and a QR code that loaded.
func TestUIEveryScreenIsAccessible(t *testing.T) {
	t.Parallel()
	a := newPeer(t, "alice")
	a.run()
	b := newBrowser(t)
	base := uiLogin(t, b, a)

	var id struct {
		Fingerprint string `json:"fingerprint"`
	}
	decodeJSON(t, "dpc id --json", a.must("id", "--json"), &id)
	if got := b.text("#fingerprint"); got != id.Fingerprint {
		t.Fatalf("first run shows fingerprint %q, dpc id says %q", got, id.Fingerprint)
	}
	b.waitJS("the QR code loaded", `(() => { const q = document.querySelector("#qr"); return q && q.complete && q.naturalWidth > 0; })()`)
	b.screenshot("first-run")

	b.do("keyboard: the first Tab", chromedp.KeyEvent("\t"))
	b.waitJS("the skip link focused first", `document.activeElement && document.activeElement.classList.contains("skip")`)

	screens := evalJS[[]string](b, `[...document.querySelectorAll("nav a")].map(a => a.getAttribute("href"))`)
	if len(screens) < 5 {
		t.Fatalf("nav lists %v: want every screen", screens)
	}
	// problems lists what a screen lacks; empty when it is fine.
	const problems = `(() => {
		const out = [];
		const name = (el) => (el.getAttribute("aria-label") || el.textContent || el.getAttribute("title") || "").trim();
		for (const el of document.querySelectorAll("#view input:not([type=hidden]), #view select, #view textarea")) {
			if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) out.push("unlabelled " + el.tagName + "#" + el.id);
		}
		for (const el of document.querySelectorAll("button, a[href]")) if (!name(el)) out.push("nameless " + el.tagName + " " + el.outerHTML.slice(0, 80));
		for (const el of document.querySelectorAll("img")) if (!el.hasAttribute("alt")) out.push("img without alt " + el.src);
		if (!document.querySelector("#view h2")) out.push("no heading");
		return out;
	})()`
	for _, s := range screens {
		b.do("opening "+s, chromedp.Navigate(base+"/"+s))
		b.waitJS(s+" rendered", `document.querySelector("#view h2") !== null`)
		// Focus moves without a DOM mutation: poll on an interval.
		b.do(s+" focuses its heading", chromedp.Poll[chromedp.Void](`document.activeElement && document.activeElement.id === "view-title"`,
			chromedp.WithPollingTimeout(browserDeadline), chromedp.WithPollingInterval(50*time.Millisecond)))
		if got := evalJS[[]string](b, problems); len(got) > 0 {
			t.Errorf("screen %s: %v", s, got)
		}
	}
}

// TestUIStreamFollowsTheNodeAcrossARestart: the page follows the event
// stream; when the node stops it shows it is reconnecting, and when the
// node is back (which ends browser sessions) it says how to log in again
// instead of retrying forever; a new link from `dpc ui` brings it back
// live.
func TestUIStreamFollowsTheNodeAcrossARestart(t *testing.T) {
	t.Parallel()
	a := newPeer(t, "alice")
	// The page stays on its address: the node must come back on it.
	a.api = fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t))
	a.run()
	b := newBrowser(t)
	uiLogin(t, b, a)
	b.waitJS("live", `document.querySelector("#live").dataset.state === "live"`)

	a.stop()
	b.waitJS("reconnecting while the node is down", `document.querySelector("#live").dataset.state === "reconnecting"`)
	a.run()
	b.waitJS("the login instructions once the node is back", `!document.querySelector("#login").hidden && document.querySelector("#live").dataset.state === "logged-out"`)
	b.screenshot("logged-out-after-restart")

	uiLogin(t, b, a)
	b.waitJS("live again", `document.querySelector("#live").dataset.state === "live"`)
}

// TestUILogOut: the Log out button ends the browser's session: the page
// shows how to log in again, and the API no longer answers that browser.
func TestUILogOut(t *testing.T) {
	t.Parallel()
	a := newPeer(t, "alice")
	a.run()
	b := newBrowser(t)
	uiLogin(t, b, a)
	b.do("logging out", chromedp.Click(chromedp.CSS("#logout")))
	b.waitJS("the login instructions", `!document.querySelector("#login").hidden && document.querySelector("#logout").hidden`)
	ctx, cancel := context.WithTimeout(b.tab, browserDeadline)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/v1/node", {credentials: "same-origin"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != http.StatusUnauthorized {
		t.Fatalf("the API after logging out answers the browser %d, want 401", got)
	}
	b.screenshot("logged-out")
}
