package rtc_test

// Interop evidence: headless Chromium, the reference WebRTC stack, talks to
// the plugin through nothing but the proto/webrtc.md signaling messages. If
// the plugin's SDP, ICE, DTLS or SCTP strayed from the standards, or its
// data channel framing from proto/webrtc.md §3, these tests fail.
//
// The page (testdata/interop.html) plays the other node: signals the plugin
// routes via the hub (sdktest.FakeHost.OnRouteSignal) go to the page's
// dpcReceive; the page's signals come back through an exposed Go func and
// reach the plugin's HandleSignal with From = SignalViaHub, as the host
// delivers them.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/nodeid"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// interopDeadline bounds each case: connection setup in a cold browser on a
// loaded 2-core machine, then a few hundred KiB each way.
const interopDeadline = 2 * time.Minute

// specMaxMessage is proto/webrtc.md §3's largest binary message, fixed by
// the protocol rather than taken from the plugin.
const specMaxMessage = 64 << 10

// TestChromiumAnswersPluginDial: the plugin dials the browser by node_id
// (webrtc-offer, trickled candidates), Chromium answers and echoes every
// binary message; what comes back must be exactly what the plugin's Conn
// wrote, whatever the write sizes, in messages of at most 64 KiB.
func TestChromiumAnswersPluginDial(t *testing.T) {
	host, tr := startTransport(t)
	page := openInteropPage(t, tr)
	page.wire(host)
	configureTransport(t, host, tr)

	// Chromium's answer carries no a=max-message-size, which RFC 8841 reads
	// as 64 KiB (65536 bytes), the messages proto/webrtc.md allows; pion
	// then assumes 65535: the cases with writes of 64 KiB and more check
	// that they still reach a browser that answers like this.
	cases := []struct {
		name   string
		writes []int
	}{
		{"one byte", []int{1}},
		{"one full 64 KiB message", []int{specMaxMessage}},
		{"64 KiB plus one byte", []int{specMaxMessage + 1}},
		{"256 KiB in one write", []int{256 << 10}},
		{"mixed writes up to 256 KiB", []int{1, 1000, specMaxMessage - 1, specMaxMessage, specMaxMessage + 1, 128 << 10, 256 << 10}},
		{"many small writes", interopRepeat(100, 300)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), interopDeadline)
			defer cancel()
			page.lastOffer() // forget the offers of earlier cases
			conn, err := tr.Dial(ctx, sdk.DialRequest{ExpectedNodeID: page.nodeID})
			if err != nil {
				t.Fatalf("Dial(ExpectedNodeID: the browser): %v", err)
			}
			// A Conn has no deadlines: the case's deadline closes it.
			stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
			defer stop()
			cid := page.lastOffer()
			if cid == "" {
				t.Fatal("Dial returned a connection without routing a webrtc-offer to the browser")
			}

			data := interopRandom(t, interopSum(tc.writes))
			wrote := make(chan error, 1)
			go func() {
				off := 0
				for _, n := range tc.writes {
					if _, err := conn.Write(data[off : off+n]); err != nil {
						wrote <- fmt.Errorf("Write of %d bytes at %d: %w", n, off, err)
						return
					}
					off += n
				}
				wrote <- conn.CloseWrite()
			}()
			type readResult struct {
				got []byte
				err error
			}
			read := make(chan readResult, 1)
			go func() {
				got, err := io.ReadAll(conn)
				read <- readResult{got, err}
			}()
			// A failed write fails the case at once: the echo would never end.
			var got []byte
			for pending := 2; pending > 0; pending-- {
				select {
				case err := <-wrote:
					if err != nil {
						t.Fatal(err)
					}
				case r := <-read:
					if r.err != nil {
						t.Fatalf("reading the echo (%d of %d bytes): %v", len(r.got), len(data), r.err)
					}
					got = r.got
				case <-ctx.Done():
					t.Fatalf("waiting for the echo: %v", ctx.Err())
				}
			}
			if len(got) != len(data) || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("echo: want %d bytes with sha256 %x, got %d bytes with sha256 %x",
					len(data), sha256.Sum256(data), len(got), sha256.Sum256(got))
			}
			echoed := page.await(ctx, t, cid, "the page's echo report", func(r pageReport) bool { return r.Event == "echoed" })
			if echoed.Bytes != len(data) || echoed.Largest > specMaxMessage {
				t.Errorf("the page echoed %d bytes in %d messages of at most %d bytes; want %d bytes in messages of at most %d",
					echoed.Bytes, echoed.Messages, echoed.Largest, len(data), specMaxMessage)
			}

			if err := conn.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			page.await(ctx, t, cid, "the page to see the connection closed", func(r pageReport) bool {
				return r.Event == "closed" || r.Event == "peer-closed"
			})
			page.checkNoErrors(t, cid)
		})
	}
}

// TestChromiumDialsPluginListener: Chromium offers (webrtc-offer, its own
// trickled candidates) and the plugin's Listener accepts; the Go side echoes
// through the accepted Conn, then half-closes and closes at once as the host
// does, and the page checks that every byte it sent in messages of up to
// 64 KiB came back, in messages of at most 64 KiB, followed by close-write.
func TestChromiumDialsPluginListener(t *testing.T) {
	host, tr := startTransport(t)
	page := openInteropPage(t, tr)
	page.wire(host)
	configureTransport(t, host, tr)

	ln, err := tr.Listen(context.Background(), sdk.ListenRequest{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan sdk.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()

	cases := []struct {
		name string
		// sends are the sizes of the page's binary messages.
		sends []int
	}{
		{"one byte", []int{1}},
		{"one full 64 KiB message", []int{specMaxMessage}},
		{"256 KiB in full messages", interopRepeat(specMaxMessage, 4)},
		{"mixed messages", []int{1, 1000, specMaxMessage - 1, specMaxMessage, 7, specMaxMessage}},
		{"many small messages", interopRepeat(100, 300)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), interopDeadline)
			defer cancel()
			sends, _ := json.Marshal(tc.sends)
			cid, err := chromedp.Run(page.tabCtx(ctx), chromedp.Evaluate[string]("dpcDial("+string(sends)+")"))
			if err != nil {
				t.Fatalf("dpcDial in the page: %v", err)
			}
			var conn sdk.Conn
			select {
			case c, ok := <-accepted:
				if !ok {
					t.Fatal("the listener stopped accepting")
				}
				conn = c
			case <-ctx.Done():
				t.Fatalf("Accept: no connection from the page's offer %s: %v", cid, ctx.Err())
			}
			stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
			defer stop()

			// A buffer bigger than a message: each full message the page
			// sent goes back as one write of 64 KiB.
			digest := sha256.New()
			n, err := io.CopyBuffer(io.MultiWriter(conn, digest), conn, make([]byte, 4*specMaxMessage))
			if err != nil {
				t.Fatalf("echoing (%d bytes so far): %v", n, err)
			}
			// Both directions are done, so the host closes right after its
			// CloseWrite: the close-write must still reach the page.
			if err := conn.CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			if err := conn.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			r := page.await(ctx, t, cid, "the page's result", func(r pageReport) bool { return r.Event == "dialed" })
			want := interopSum(tc.sends)
			read := hex.EncodeToString(digest.Sum(nil))
			if r.SentBytes != want || int(n) != want || r.EchoedBytes != want {
				t.Errorf("bytes: the page sent %d, the plugin's Conn read %d, the page got back %d; want %d each", r.SentBytes, n, r.EchoedBytes, want)
			}
			if read != r.Sent || r.Echoed != r.Sent {
				t.Errorf("sha256: the page sent %s, the plugin's Conn read %s, the page got back %s", r.Sent, read, r.Echoed)
			}
			if r.Largest > specMaxMessage {
				t.Errorf("the plugin sent a message of %d bytes; proto/webrtc.md allows at most %d", r.Largest, specMaxMessage)
			}
			page.await(ctx, t, cid, "the page to see the connection closed", func(r pageReport) bool {
				return r.Event == "closed" || r.Event == "peer-closed"
			})
			page.checkNoErrors(t, cid)
		})
	}
}

// startTransport returns the plugin and the fake host that will carry its
// signals; the caller wires the host to the page before configureTransport.
// The plugin is called directly rather than over the SDK's gRPC boundary:
// the host's frames are smaller than a message, so only a direct Write can
// make the plugin split writes into full 64 KiB messages.
func startTransport(t *testing.T) (*sdktest.FakeHost, *rtc.Plugin) {
	t.Helper()
	p := &rtc.Plugin{}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return sdktest.NewFakeHost(t), p
}

// configureTransport configures the plugin the way the host does.
func configureTransport(t *testing.T, host *sdktest.FakeHost, p *rtc.Plugin) {
	t.Helper()
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: testConfig(), Host: host, NodeID: sdktest.TestNodeID, Logger: testLogger("webrtc"),
	}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

// pageReport is what the page tells the test (interop.html's report()).
type pageReport struct {
	Event    string `json:"event"`
	CID      string `json:"cid"`
	Error    string `json:"error"`
	Reason   string `json:"reason"`
	Messages int    `json:"messages"`
	Bytes    int    `json:"bytes"`
	Largest  int    `json:"largest"`
	// Of a connection the page dialed.
	SentBytes   int    `json:"sentBytes"`
	EchoedBytes int    `json:"echoedBytes"`
	Sent        string `json:"sent"`
	Echoed      string `json:"echoed"`
}

// interopPage is one headless Chromium tab showing testdata/interop.html, the
// other node of every connection.
type interopPage struct {
	tab context.Context
	// nodeID is the browser's node_id as the hub would name it.
	nodeID  string
	reports chan pageReport
	// offers gets the cid of each new connection the plugin offers.
	offers chan string
}

// tabCtx returns a context that runs actions on the tab and ends with ctx.
func (p *interopPage) tabCtx(ctx context.Context) context.Context {
	tctx, cancel := context.WithCancel(p.tab)
	context.AfterFunc(ctx, cancel)
	return tctx
}

// wire makes the fake host hand every signal the plugin routes to the page.
func (p *interopPage) wire(h *sdktest.FakeHost) {
	h.OnRouteSignal = func(s sdk.Signal) error {
		if err := p.deliver(s); err != nil {
			p.fail(err)
			return err
		}
		return nil
	}
}

// deliver checks a signal the plugin routed against proto/webrtc.md §1–2 and
// hands its payload to the page, as the hub would relay it.
func (p *interopPage) deliver(s sdk.Signal) error {
	if s.To != sdk.SignalViaHub || s.PeerNodeID != p.nodeID {
		return fmt.Errorf("the plugin routed a %s signal to %q, peer %q; want To %q and the browser's node_id %q",
			s.Type, s.To, s.PeerNodeID, sdk.SignalViaHub, p.nodeID)
	}
	var head struct {
		Type    string `json:"type"`
		CID     string `json:"cid"`
		Restart bool   `json:"restart"`
	}
	if err := json.Unmarshal(s.Payload, &head); err != nil {
		return fmt.Errorf("the plugin's %s payload is not a JSON object: %w", s.Type, err)
	}
	if head.Type != s.Type {
		return fmt.Errorf("the plugin's payload says type %q but the signal %q", head.Type, s.Type)
	}
	if head.Type == "webrtc-offer" && !head.Restart {
		select {
		case p.offers <- head.CID:
		default:
		}
	}
	// A JSON string is a JavaScript string literal.
	lit, err := json.Marshal(string(s.Payload))
	if err != nil {
		return fmt.Errorf("quoting the payload: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), interopDeadline)
	defer cancel()
	if _, err := chromedp.Run(p.tabCtx(ctx), chromedp.Evaluate[chromedp.Void]("dpcReceive("+string(lit)+")")); err != nil {
		return fmt.Errorf("handing %s to the page: %w", s.Type, err)
	}
	return nil
}

// lastOffer returns the cid of the plugin's latest new offer not yet taken
// ("" if none), and forgets the ones before it.
func (p *interopPage) lastOffer() string {
	cid := ""
	for {
		select {
		case cid = <-p.offers:
		default:
			return cid
		}
	}
}

// fail records a failure seen outside the test goroutine; await reports it.
func (p *interopPage) fail(err error) {
	select {
	case p.reports <- pageReport{Event: "error", Error: err.Error()}:
	default:
	}
}

// await waits for the first report about connection cid that match
// accepts, skipping others. An error about cid, or about no connection in
// particular, fails the test at once; one about an earlier connection (its
// case has failed already) is only logged.
func (p *interopPage) await(ctx context.Context, t *testing.T, cid, what string, match func(pageReport) bool) pageReport {
	t.Helper()
	for {
		select {
		case r := <-p.reports:
			if r.Event == "error" {
				if r.CID != "" && r.CID != cid {
					t.Logf("page, about an earlier connection %s: %s", r.CID, r.Error)
					continue
				}
				t.Fatalf("while waiting for %s: %s (cid %s)", what, r.Error, r.CID)
			}
			if r.CID == cid && match(r) {
				return r
			}
		case <-ctx.Done():
			t.Fatalf("waiting for %s (cid %s): %v", what, cid, ctx.Err())
		}
	}
}

// checkNoErrors fails the test for an error report about cid (or about no
// connection in particular) that is already queued.
func (p *interopPage) checkNoErrors(t *testing.T, cid string) {
	t.Helper()
	for {
		select {
		case r := <-p.reports:
			if r.Event == "error" && (r.CID == "" || r.CID == cid) {
				t.Errorf("page: %s (cid %s)", r.Error, r.CID)
			}
		default:
			return
		}
	}
}

// signalSink is where the page's signals go: the plugin's HandleSignal.
type signalSink interface {
	HandleSignal(ctx context.Context, s sdk.Signal) error
}

// openInteropPage starts headless Chromium on testdata/interop.html, served
// from 127.0.0.1, with the page's signals going to sink. The browser's output
// and the page's console are logged if the test fails.
func openInteropPage(t *testing.T, sink signalSink) *interopPage {
	t.Helper()
	exe := chromiumPath(t)
	browserNodeID := fakeNodeID(t)

	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	t.Cleanup(srv.Close)

	var browserOut, console lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("page console:\n%s", console.String())
			t.Logf("chromium output:\n%s", browserOut.String())
		}
	})
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Containers often have a tiny /dev/shm, which crashes Chromium.
		chromedp.Flag("disable-dev-shm-usage", true),
		// Chromium leaves out loopback candidates and hides host addresses
		// behind mDNS names unless told otherwise; the plugin and the page
		// share one machine and no STUN server.
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(&browserOut),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(browserOut.Logf), chromedp.WithErrorf(browserOut.Logf))
	t.Cleanup(cancelTab)

	// The first Run starts the browser and binds it to tab, which must not
	// carry a deadline; later runs get one.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			console.Logf("%s %s:%d", m, m.URL, m.Line)
		}
	}()

	p := &interopPage{tab: tab, nodeID: browserNodeID, reports: make(chan pageReport, 256), offers: make(chan string, 64)}
	ctx, cancel := context.WithTimeout(tab, interopDeadline)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.ExposeFunc("dpcSignal", func(ctx context.Context, payload string) (chromedp.Void, error) {
			var head struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(payload), &head); err != nil {
				return chromedp.Void{}, fmt.Errorf("the page's signal is not JSON: %w", err)
			}
			return chromedp.Void{}, sink.HandleSignal(ctx, sdk.Signal{
				From: sdk.SignalViaHub, PeerNodeID: browserNodeID, Type: head.Type, Payload: []byte(payload),
			})
		}),
		chromedp.ExposeFunc("dpcReport", func(ctx context.Context, r pageReport) (chromedp.Void, error) {
			select {
			case p.reports <- r:
				return chromedp.Void{}, nil
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			}
		}),
		chromedp.Navigate(srv.URL+"/interop.html"),
	)
	if err != nil {
		t.Fatalf("opening the interop page: %v", err)
	}
	return p
}

// chromiumPath finds Debian's chromium. CI must have it (.ci/run installs
// it); a developer's machine without it skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium is not installed (no chromium or chromium-browser on PATH): " +
		".ci/run should have installed the Debian package chromium; locally run apt-get install chromium"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// fakeNodeID is a real node_id of a throwaway key: the browser's identity as
// the hub would claim it.
func fakeNodeID(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("browser key: %v", err)
	}
	id, err := nodeid.FromPublicKey(pub)
	if err != nil {
		t.Fatalf("browser node_id: %v", err)
	}
	return id
}

// lockedBuffer collects text from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	_, _ = b.Write([]byte(strings.TrimRight(line, "\n") + "\n"))
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func interopRandom(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func interopRepeat(n, times int) []int {
	s := make([]int, times)
	for i := range s {
		s[i] = n
	}
	return s
}

func interopSum(ns []int) int {
	total := 0
	for _, n := range ns {
		total += n
	}
	return total
}
