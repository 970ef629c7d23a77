package llmhttp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// closeWatcher is a server that reports when a client connection to it
// closes.
func closeWatcher(t *testing.T) (url string, closed <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			ch <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// connectedSetup returns a Setup whose client has an idle connection to
// url.
func connectedSetup(t *testing.T, url, model string) *llmhttp.Setup[string] {
	t.Helper()
	c := llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: url})
	var out struct{}
	if err := c.GetJSON(context.Background(), "/", &out); err != nil {
		t.Fatal(err)
	}
	return &llmhttp.Setup[string]{Config: model, Client: c}
}

func waitClosed(t *testing.T, closed <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(bound):
		t.Errorf("%s: the idle connection was not closed", what)
	}
}

func TestHolder(t *testing.T) {
	t.Parallel()
	var h llmhttp.Holder[string]
	if s, err := h.Get("llm-test"); s != nil || !errors.Is(err, sdk.ErrNotConfigured) || !strings.HasPrefix(err.Error(), "llm-test: ") {
		t.Errorf("zero Holder: want a llm-test error wrapping sdk.ErrNotConfigured, got %v, %v", s, err)
	}
	h.Close() // nothing to close

	url, closed := closeWatcher(t)
	first := connectedSetup(t, url, "first")
	h.Set(first)
	if s, err := h.Get("llm-test"); s != first || err != nil {
		t.Errorf("want the Setup set, got %v, %v", s, err)
	}
	second := connectedSetup(t, url, "second")
	h.Set(second)
	waitClosed(t, closed, "Set")
	if s, _ := h.Get("llm-test"); s != second {
		t.Errorf("want the second Setup, got %v", s)
	}
	h.Close()
	waitClosed(t, closed, "Close")
	if _, err := h.Get("llm-test"); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("after Close: want sdk.ErrNotConfigured, got %v", err)
	}
	h.Close()
}

func TestHolderConcurrent(t *testing.T) {
	t.Parallel()
	var h llmhttp.Holder[int]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				if i%2 == 0 {
					h.Set(&llmhttp.Setup[int]{Config: j, Client: llmhttp.New(llmhttp.Options{BaseURL: "http://127.0.0.1:1"})})
				} else if s, err := h.Get("llm-test"); err == nil && s.Config < 0 {
					t.Error("impossible config")
				}
			}
		})
	}
	wg.Wait()
	h.Close()
}

func TestWarnKeyInTheClear(t *testing.T) {
	t.Parallel()
	key, err := llmhttp.LoadKey(secret, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		url      string
		noKey    bool
		wantWarn bool
	}{
		"http to another machine":    {url: "http://10.0.0.2:8080/v1/", wantWarn: true},
		"HTTP in capitals":           {url: "HTTP://gpu.example:8080", wantWarn: true},
		"https":                      {url: "https://api.example.com/v1"},
		"http to this machine":       {url: "http://127.0.0.1:8080/v1"},
		"http to localhost":          {url: "http://localhost:11434"},
		"http to another, no key":    {url: "http://10.0.0.2:8080/v1", noKey: true},
		"http to IPv6 loopback":      {url: "http://[::1]:8080"},
		"https to this machine, key": {url: "https://127.0.0.1:8443"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := key
			if tc.noKey {
				k = llmhttp.Key{}
			}
			log, logs := llmhttptest.NewLogger("llm-test")
			llmhttp.WarnKeyInTheClear(log, llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: tc.url, Key: k}))
			out := logs.String()
			if warned := strings.Contains(out, "[WARN]") && strings.Contains(out, "plain http"); warned != tc.wantWarn {
				t.Errorf("want a warning: %v, got %q", tc.wantWarn, out)
			}
			if tc.wantWarn && !strings.Contains(out, "base_url="+strings.TrimRight(tc.url, "/")) {
				t.Errorf("want the warning to name the URL, got %q", out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the warning contains the key: %q", out)
			}
		})
	}
}
