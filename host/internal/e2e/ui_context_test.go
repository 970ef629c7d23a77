package e2e

// The web UI's ask, personal context and firewall screens (issue 16) in
// real headless Chromium against real `dpc run` nodes.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// useFixture copies testdata/ui/<fixture> to name in p's data directory.
func useFixture(t *testing.T, p *peer, fixture, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ui", fixture))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.home, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// openAIPlugin is the dpc.hcl block of an llm-openai plugin using s.
func openAIPlugin(s *llmhttptest.Server) string {
	return fmt.Sprintf("plugin \"llm\" \"llm-openai\" {\n  config {\n    base_url = %q\n    model = \"test-model\"\n  }\n}\n", s.URL+"/v1")
}

// TestUIAskUsesPeerContext: Bob's firewall shares his name and baking
// notes with his contacts; Alice asks in her UI, ticking Bob. The answer
// shows while the model is still writing it (the model holds the rest
// back until the test saw the first word on the page), and Bob is listed
// as a source with exactly the fields he shares; the prompt holds them and
// nothing Bob withholds.
func TestUIAskUsesPeerContext(t *testing.T) {
	t.Parallel()
	const answer = "Bob bakes rye bread on Sundays, by his own notes."
	aliceLLM := newFakeLLM(t, answer)
	events := openAIStream(answer)
	release := make(chan struct{})
	aliceLLM.Handle("POST /v1/chat/completions", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		llmhttptest.SSE.Write(w, events[0])
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		for _, e := range events[1:] {
			_, _ = w.Write([]byte(e))
			w.(http.Flusher).Flush()
		}
	}))
	alice := newPeerWith(t, "Alice", openAIPlugin(aliceLLM))
	bob := newPeer(t, "Bob")
	useFixture(t, bob, "bob-shares-baking.json", "personal.json")
	useFixture(t, bob, "bob-shares-baking.hcl", "firewall.hcl")
	alice.run()
	bob.run()
	contacts(t, alice, bob)

	b := newBrowser(t)
	base := uiLogin(t, b, alice)
	b.do("alice opens the ask screen", chromedp.Navigate(base+"/#/ask"))
	b.text(`#ask-peers input[data-node="` + bob.id + `"]`)
	b.do("alice asks, including bob",
		chromedp.SendKeys(chromedp.CSS("#ask-question"), "What does Bob bake?"),
		chromedp.Click(chromedp.CSS(`#ask-peers input[data-node="`+bob.id+`"]`)),
		chromedp.Click(chromedp.CSS("#ask-submit")))
	b.waitJS("the first words of the answer while it is still streaming", `(() => {
		const a = document.querySelector("#ask-answer");
		return a && a.dataset.state === "streaming" && a.textContent === "Bob ";
	})()`)
	b.screenshot("streaming")
	close(release)
	b.waitJS("the whole answer, done", `(() => {
		const a = document.querySelector("#ask-answer");
		return a.dataset.state === "done" && a.textContent === `+jsString(answer)+`;
	})()`)
	src := b.text(`#ask-sources li[data-node="` + bob.id + `"]`)
	b.screenshot("answered")
	for _, want := range []string{"Bob", "knowledge.baking", "profile.name"} {
		if !strings.Contains(src, want) {
			t.Errorf("bob's source %q does not say %q", src, want)
		}
	}
	for _, withheld := range []string{"knowledge.health", "profile.email"} {
		if strings.Contains(src, withheld) {
			t.Errorf("bob's source %q lists %q, which he does not share", src, withheld)
		}
	}
	if got := b.text("#ask-missing"); got != "None." {
		t.Errorf("peers left out: %q, want none", got)
	}
	b.phone()

	reqs := chats(t, aliceLLM)
	if len(reqs) != 1 {
		t.Fatalf("want 1 request at alice's model, got %d", len(reqs))
	}
	sys := systemPrompt(t, reqs[0])
	if !strings.Contains(sys, "Bob bakes rye bread on Sundays") {
		t.Errorf("the prompt lacks bob's shared context:\n%s", sys)
	}
	for _, withheld := range []string{"penicillin", "bob@example.org"} {
		if strings.Contains(sys, withheld) {
			t.Errorf("the prompt holds %q, which bob does not share", withheld)
		}
	}
}

// phone narrows the page to a phone's 375 px and checks that nothing
// makes it scroll sideways.
func (b *browser) phone() {
	b.t.Helper()
	b.do("a phone's width", chromedp.EmulateViewport(375, 812))
	b.screenshot("phone")
	b.waitJS("nothing wider than the phone", `document.documentElement.scrollWidth <= 375 || (() => {
		const wide = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > 376).map((e) => e.tagName + "#" + e.id + "." + e.className);
		document.title = "too wide: " + wide.slice(0, 8).join(" ");
		return false;
	})()`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return fmt.Sprintf("%q", s) }

// TestUIFirewallEditChangesPeerView: Alice's firewall shares only her name
// with her contacts. In her UI she adds her cooking notes: the preview of
// what Bob sees shows them before she saves (and nothing is saved yet);
// once she saves, Bob's very next ask gets them, with no restart and no
// wait for a file watcher.
func TestUIFirewallEditChangesPeerView(t *testing.T) {
	t.Parallel()
	bobLLM := newFakeLLM(t, "Alice cooks.")
	alice := newPeer(t, "Alice")
	bob := newPeerWith(t, "Bob", openAIPlugin(bobLLM))
	useFixture(t, alice, "alice-cooks.json", "personal.json")
	useFixture(t, alice, "alice-shares-name.hcl", "firewall.hcl")
	alice.run()
	bob.run()
	contacts(t, alice, bob)

	bobAsks := func(args ...string) (out, prompt string) {
		t.Helper()
		out = bob.must(append(append([]string{"ask"}, args...), "--peer", alice.id, "What does Alice cook?")...)
		reqs := chats(t, bobLLM)
		return out, systemPrompt(t, reqs[len(reqs)-1])
	}
	sees := func(paths string) string { return "context: Alice (" + alice.id + "): " + paths + "\n" }
	out, prompt := bobAsks()
	if !strings.Contains(out, sees("profile.name")) || strings.Contains(prompt, "Sicilian") {
		t.Fatalf("before the edit bob should see alice's name only; ask said:\n%s\nprompt:\n%s", out, prompt)
	}

	b := newBrowser(t)
	base := uiLogin(t, b, alice)
	b.do("alice opens her firewall", chromedp.Navigate(base+"/#/firewall"))
	b.waitJS("the preview of what bob sees under the rules in force", `(() => {
		const p = document.querySelector("#fw-preview-state");
		return document.querySelector("#fw-peer")?.value === "`+bob.id+`" && p?.dataset.state === "saved" &&
			!!document.querySelector('#fw-paths li[data-path="profile.name"]') && !document.querySelector('#fw-paths li[data-path="knowledge.cooking"]');
	})()`)
	b.screenshot("before")
	b.typeAfter("alice adds her cooking notes to what her contacts may see", "#fw-text", `"context:profile.name"`, `, "context:knowledge.cooking"`)
	b.waitJS("the preview of the unsaved edit shows bob the cooking notes", `(() => {
		const p = document.querySelector("#fw-preview-state");
		return p?.dataset.state === "unsaved" && !!document.querySelector('#fw-paths li[data-path="knowledge.cooking"]') &&
			document.querySelector("#fw-context").textContent.includes("Sicilian street food");
	})()`)
	b.screenshot("preview")
	if rules, _ := os.ReadFile(filepath.Join(alice.home, "firewall.hcl")); strings.Contains(string(rules), "knowledge.cooking") {
		t.Fatal("the preview saved the edit")
	}

	b.do("alice saves", chromedp.Click(chromedp.CSS("#fw-save")))
	b.waitJS("saved", `document.querySelector("#fw-status")?.dataset.state === "saved"`)
	b.screenshot("saved")
	b.phone()
	if rules, _ := os.ReadFile(filepath.Join(alice.home, "firewall.hcl")); !strings.Contains(string(rules), `"context:profile.name", "context:knowledge.cooking"]`) {
		t.Fatalf("firewall.hcl after saving:\n%s", rules)
	}

	// --fresh: bob's node asks alice's rather than use the copy it holds
	// (which alice's CONTEXT_UPDATED marks stale too, but that frame may
	// still be on its way).
	out, prompt = bobAsks("--fresh")
	if !strings.Contains(out, sees("knowledge.cooking, profile.name")) || !strings.Contains(prompt, "Alice cooks Sicilian street food") {
		t.Errorf("right after the save bob should see alice's cooking notes; ask said:\n%s\nprompt:\n%s", out, prompt)
	}
	if strings.Contains(prompt, "penicillin") || strings.Contains(prompt, "alice@example.org") {
		t.Errorf("bob's prompt holds what alice does not share:\n%s", prompt)
	}
}

// typeAfter puts the caret in the textarea css just after the first
// occurrence of anchor and types keys there, as a user does.
func (b *browser) typeAfter(what, css, anchor, keys string) {
	b.t.Helper()
	b.do(what,
		chromedp.Evaluate[chromedp.Void](`(() => {
			const t = document.querySelector(`+jsString(css)+`);
			const i = t.value.indexOf(`+jsString(anchor)+`);
			if (i < 0) throw new Error("no " + `+jsString(anchor)+` + " in the editor");
			t.focus();
			t.setSelectionRange(i + `+fmt.Sprint(len([]rune(anchor)))+`, i + `+fmt.Sprint(len([]rune(anchor)))+`);
			return {};
		})()`),
		chromedp.KeyEvent(keys))
}

// TestUIContextEditorChecksAndSaves: in the personal context editor a
// JSON error is shown with its line and column before anything is saved;
// a valid edit saves and is what the node uses at once (dpc context show);
// an edit of a version changed meanwhile (dpc context set) is refused,
// keeping both the change and the user's text.
func TestUIContextEditorChecksAndSaves(t *testing.T) {
	t.Parallel()
	alice := newPeer(t, "Alice")
	useFixture(t, alice, "alice-cooks.json", "personal.json")
	alice.run()

	b := newBrowser(t)
	base := uiLogin(t, b, alice)
	b.do("alice opens her personal context", chromedp.Navigate(base+"/#/context"))
	b.waitJS("the editor holds her context", `document.querySelector("#context-text")?.value.includes("Sicilian street food")`)

	// A trailing comma: the object's closing brace, on the next line, is
	// where JSON breaks.
	b.typeAfter("alice types a trailing comma", "#context-text", `"alice@example.org"`, ",")
	b.waitJS("the problem shown with its line and column", `(() => {
		const d = document.querySelector("#context-diags li.diag");
		return d && d.dataset.line === "5" && d.dataset.column === "3" && d.textContent.includes("Invalid JSON");
	})()`)
	b.screenshot("invalid")
	b.do("alice saves anyway", chromedp.Click(chromedp.CSS("#context-save")))
	b.waitJS("refused", `document.querySelector("#context-status")?.dataset.state === "invalid"`)
	if out := alice.must("context", "show", "profile"); strings.Contains(out, "description") {
		t.Fatalf("an invalid edit was saved:\n%s", out)
	}

	b.typeAfter("alice finishes the field", "#context-text", `"alice@example.org",`, ` "description": "cook"`)
	b.waitJS("no problem left", `document.querySelectorAll("#context-diags li").length === 0 && document.querySelector("#context-status").textContent === "valid; not saved yet"`)
	b.do("alice saves", chromedp.Click(chromedp.CSS("#context-save")))
	b.waitJS("saved and used", `document.querySelector("#context-status")?.textContent === "saved; used by the node"`)
	b.screenshot("saved")
	if out := alice.must("context", "show", "profile.description"); strings.TrimSpace(out) != `"cook"` {
		t.Fatalf("dpc context show profile.description after saving: %q, want \"cook\"", out)
	}

	alice.must("context", "set", "profile.name", "Alicia")
	b.typeAfter("alice edits the version she loaded", "#context-text", `"cook`, "ing")
	b.do("alice saves", chromedp.Click(chromedp.CSS("#context-save")))
	b.waitJS("a conflict, with a way to load the newest version", `document.querySelector("#context-status")?.dataset.state === "conflict" && !document.querySelector("#context-reload").hidden`)
	b.screenshot("conflict")
	if got := b.text("#context-status"); !strings.Contains(got, "changed since this edit started") {
		t.Errorf("conflict message %q does not say the context changed", got)
	}
	if out := alice.must("context", "show", "profile"); !strings.Contains(out, "Alicia") || strings.Contains(out, "cooking") {
		t.Errorf("the change made meanwhile was overwritten, or the stale edit saved:\n%s", out)
	}
}
