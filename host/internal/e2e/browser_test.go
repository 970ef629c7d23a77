package e2e

// Real headless Chromium for the web UI's tests (issue 16), driven by
// chromedp. Screenshots are test artifacts, kept under
// $DPC_TEST_ARTIFACTS/<test name>/ (default artifacts/ beside this file).

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserDeadline bounds one browser step: loaded machines start Chromium
// slowly, and a step waits for an event, never for a duration.
const browserDeadline = 2 * time.Minute

type browser struct {
	t   *testing.T
	tab context.Context
	out *syncBuffer
}

// newBrowser starts headless Chromium for t with a fresh profile; its
// output is logged when t fails.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		t.Fatal("no Chromium on PATH: install Debian's chromium (apt-get install chromium); .ci/run does")
	}
	out := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	logf := func(f string, a ...any) { _, _ = out.Write([]byte(strings.TrimSpace(fmt.Sprintf(f, a...)) + "\n")) }
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Containers often have a tiny /dev/shm, which crashes Chromium.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(out),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	t.Cleanup(cancelTab)
	// The first run starts the browser and must carry no deadline.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return &browser{t: t, tab: tab, out: out}
}

// newTab opens another tab of the same browser (sharing its cookies).
func (b *browser) newTab() *browser {
	b.t.Helper()
	tab, cancel := chromedp.NewContext(b.tab)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		b.t.Fatalf("opening a tab: %v", err)
	}
	return &browser{t: b.t, tab: tab, out: b.out}
}

// waitJS waits until the JavaScript expression is truthy.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(browserDeadline), chromedp.WithPollingMutation()))
}

// do runs steps within browserDeadline.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, browserDeadline)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// text is the visible text of the first element matching css, once it is
// visible.
func (b *browser) text(css string) string {
	b.t.Helper()
	b.do("waiting for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
	ctx, cancel := context.WithTimeout(b.tab, browserDeadline)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", css, err)
	}
	return s
}

// evalJS evaluates a JavaScript expression in b's page.
func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, browserDeadline)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: evaluating %.60q: %v", expr, err)
	}
	return v
}

// screenshot keeps the page as <artifacts>/<test name>/<name>.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, browserDeadline)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	dir := artifactDir(b.t)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

var artifactsOnce sync.Map

// artifactDir is the test's artifact folder, emptied the first time a run
// of the test uses it.
func artifactDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("DPC_TEST_ARTIFACTS")
	if root == "" {
		root = "artifacts"
	}
	dir, err := filepath.Abs(filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_")))
	if err != nil {
		t.Fatal(err)
	}
	if _, loaded := artifactsOnce.LoadOrStore(dir, true); !loaded {
		_ = os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
