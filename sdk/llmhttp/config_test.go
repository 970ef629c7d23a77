package llmhttp_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url      string
		wantText string // "" means valid
	}{
		"http loopback":            {url: "http://127.0.0.1:11434"},
		"https with path":          {url: "https://api.openai.com/v1"},
		"trailing slash":           {url: "http://localhost:8080/v1/"},
		"IPv6":                     {url: "http://[::1]:8080"},
		"empty":                    {url: "", wantText: "must not be empty"},
		"no scheme":                {url: "127.0.0.1:11434", wantText: "http:// or https://"},
		"ftp":                      {url: "ftp://example.com", wantText: "http:// or https://"},
		"no host":                  {url: "http:///v1", wantText: "must name a host"},
		"query":                    {url: "http://h/v1?x=1", wantText: "query or fragment"},
		"fragment":                 {url: "http://h/v1#x", wantText: "query or fragment"},
		"bad port":                 {url: "http://h:port", wantText: "not a valid URL"},
		"credentials":              {url: "https://user:hunter2@h/v1", wantText: "user name or password"},
		"bad URL with credentials": {url: "https://u:hunter2@h:x/", wantText: "not a valid URL"},
		"no scheme, credentials":   {url: "u:hunter2@h", wantText: "http:// or https://"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := llmhttp.CheckBaseURL("base_url", tc.url)
			if tc.wantText == "" {
				if err != nil {
					t.Errorf("want no error, got %v", err)
				}
				return
			}
			ce := configError(t, err)
			if strings.Join(ce.Path, ".") != "base_url" || !strings.Contains(ce.Summary, tc.wantText) {
				t.Errorf("want an error at base_url containing %q, got %v", tc.wantText, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

func TestCheckTimeout(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		seconds float64
		valid   bool
	}{
		"zero disables": {0, true},
		"fraction":      {0.2, true},
		"a day":         {86400, true},
		"negative":      {-1, false},
		"over a day":    {86401, false},
		"NaN":           {math.NaN(), false},
		"infinity":      {math.Inf(1), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := llmhttp.CheckTimeout("timeout_seconds", tc.seconds)
			if tc.valid != (err == nil) {
				t.Fatalf("want valid=%v, got %v", tc.valid, err)
			}
			if err != nil {
				if ce := configError(t, err); ce.Path[0] != "timeout_seconds" || !strings.Contains(ce.Summary, "between 0") {
					t.Errorf("want an error at timeout_seconds saying the range, got %v", err)
				}
			}
		})
	}
	if got := llmhttp.Seconds(0.25); got != 250*time.Millisecond {
		t.Errorf("Seconds(0.25): want 250ms, got %v", got)
	}
}

func TestCheckModel(t *testing.T) {
	t.Parallel()
	if err := llmhttp.CheckModel("llama3", "llama3"); err != nil {
		t.Errorf("a model: want no error, got %v", err)
	}
	for _, model := range []string{"", " \t"} {
		ce := configError(t, llmhttp.CheckModel(model, "gpt-4o-mini"))
		if strings.Join(ce.Path, ".") != llmhttp.AttrModel || ce.Summary != `must name a model, such as "gpt-4o-mini"` {
			t.Errorf("model %q: want an error at model naming the example, got %v", model, ce)
		}
	}
}

func TestCheckTimeouts(t *testing.T) {
	t.Parallel()
	if err := llmhttp.CheckTimeouts(120, 0); err != nil {
		t.Errorf("valid timeouts: want no error, got %v", err)
	}
	tests := map[string]struct {
		timeout, idle float64
		wantPaths     []string
	}{
		"timeout":      {timeout: -1, wantPaths: []string{llmhttp.AttrTimeout}},
		"idle timeout": {idle: math.NaN(), wantPaths: []string{llmhttp.AttrIdleTimeout}},
		"both":         {timeout: 1e9, idle: -0.5, wantPaths: []string{llmhttp.AttrTimeout, llmhttp.AttrIdleTimeout}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var paths []string
			for _, ce := range sdk.ConfigErrors(llmhttp.CheckTimeouts(tc.timeout, tc.idle)) {
				paths = append(paths, strings.Join(ce.Path, "."))
			}
			if !slices.Equal(paths, tc.wantPaths) {
				t.Errorf("want errors at %q, got them at %q", tc.wantPaths, paths)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"http://127.0.0.1:11434":    true,
		"http://127.1.2.3":          true,
		"http://localhost:8080/v1":  true,
		"http://LOCALHOST":          true,
		"http://[::1]:8080":         true,
		"https://api.openai.com/v1": false,
		"http://10.0.0.2:11434":     false,
		"http://localhost.evil.com": false,
		"::not a url":               false,
	}
	for url, want := range tests {
		if got := llmhttp.IsLoopback(url); got != want {
			t.Errorf("IsLoopback(%q): want %v, got %v", url, want, got)
		}
	}
}
