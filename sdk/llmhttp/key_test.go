package llmhttp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

const secret = "sk-test-0123456789abcdef"

// configError returns the one ConfigError in err, failing the test if
// there is not exactly one.
func configError(t *testing.T, err error) *sdk.ConfigError {
	t.Helper()
	ces := sdk.ConfigErrors(err)
	if len(ces) != 1 {
		t.Fatalf("want one ConfigError, got %v", err)
	}
	return ces[0]
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := llmhttptest.TempFile(t, "key", "  "+secret+"\n")
	tests := map[string]struct {
		apiKey, file string
		wantKey      string
		wantSource   string
		wantAttr     string
		wantText     string
	}{
		"none":                         {},
		"from api_key, trimmed":        {apiKey: " " + secret + "\n", wantKey: secret, wantSource: "api_key"},
		"from api_key_file":            {file: good, wantKey: secret, wantSource: `api_key_file "` + good + `"`},
		"whitespace api_key is none":   {apiKey: "  \n"},
		"both":                         {apiKey: secret, file: good, wantAttr: "api_key_file", wantText: "not both"},
		"relative file":                {file: "key.txt", wantAttr: "api_key_file", wantText: "absolute path"},
		"missing file":                 {file: filepath.Join(dir, "nope"), wantAttr: "api_key_file", wantText: `"` + filepath.Join(dir, "nope") + `" cannot be read: no such file`},
		"directory":                    {file: dir, wantAttr: "api_key_file", wantText: "is a directory"},
		"empty file":                   {file: llmhttptest.TempFile(t, "empty", " \n\n"), wantAttr: "api_key_file", wantText: "is empty"},
		"two lines":                    {file: llmhttptest.TempFile(t, "two", secret+"\nsecond\n"), wantAttr: "api_key_file", wantText: "only the key"},
		"huge file":                    {file: llmhttptest.TempFile(t, "huge", strings.Repeat("k", 70<<10)), wantAttr: "api_key_file", wantText: "larger than 64 KiB"},
		"control character in api_key": {apiKey: "sk\x01x", wantAttr: "api_key", wantText: "control characters"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k, err := llmhttp.LoadKey(tc.apiKey, tc.file)
			if tc.wantAttr != "" {
				ce := configError(t, err)
				if strings.Join(ce.Path, ".") != tc.wantAttr || !strings.Contains(ce.Summary, tc.wantText) {
					t.Errorf("want an error at %s containing %q, got %v", tc.wantAttr, tc.wantText, err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if k.Secret() != tc.wantKey || k.Source() != tc.wantSource || k.IsSet() != (tc.wantKey != "") {
				t.Errorf("want key %q from %q, got %q from %q", tc.wantKey, tc.wantSource, k.Secret(), k.Source())
			}
		})
	}
}

func TestCheckKeyConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		apiKey, file string
		required     bool
		wantAttr     string
		wantText     string
	}{
		"optional and none":  {},
		"required, key":      {apiKey: secret, required: true},
		"required, file":     {file: "/etc/dpc/key", required: true},
		"required and none":  {required: true, wantAttr: "api_key", wantText: `api_key = env("ANTHROPIC_API_KEY")`},
		"required and empty": {apiKey: "   ", required: true, wantAttr: "api_key", wantText: "api_key_file"},
		"both":               {apiKey: secret, file: "/k", wantAttr: "api_key_file", wantText: "not both"},
		"relative file":      {file: "k", wantAttr: "api_key_file", wantText: "absolute"},
		"newline inside key": {apiKey: "sk-a\nsk-b", wantAttr: "api_key", wantText: "control characters"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := llmhttp.CheckKeyConfig(tc.apiKey, tc.file, tc.required, "ANTHROPIC_API_KEY")
			if tc.wantAttr == "" {
				if err != nil {
					t.Errorf("want no error, got %v", err)
				}
				return
			}
			ce := configError(t, err)
			if strings.Join(ce.Path, ".") != tc.wantAttr || !strings.Contains(ce.Summary, tc.wantText) {
				t.Errorf("want an error at %s containing %q, got %v", tc.wantAttr, tc.wantText, err)
			}
		})
	}
}

// TestKeyNeverPrinted formats a Key every way a careless log line might.
func TestKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	k, err := llmhttp.LoadKey(secret, "")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	for _, format := range []string{"json", "text"} {
		l := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace, JSONFormat: format == "json"})
		l.Info("configured", "key", k, "key_ptr", &k)
	}
	js, _ := json.Marshal(map[string]any{"k": k})
	outputs := map[string]string{
		"hclog": logs.String(), "json": string(js),
		"%v": fmt.Sprintf("%v", k), "%+v": fmt.Sprintf("%+v", k), "%#v": fmt.Sprintf("%#v", k),
		"%s": fmt.Sprintf("%s", k), "%q": fmt.Sprintf("%q", k), "%x": fmt.Sprintf("%x", k), "%d": fmt.Sprintf("%d", k),
		"in a struct": fmt.Sprintf("%+v", struct{ K llmhttp.Key }{k}),
	}
	for how, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows the key: %s", how, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s: want [redacted], got %s", how, out)
		}
	}
	if got := k.Redact("bad key " + secret + "!"); got != "bad key [redacted]!" {
		t.Errorf("Redact: got %q", got)
	}
	if got := (llmhttp.Key{}).Redact("text"); got != "text" {
		t.Errorf("Redact without a key: got %q", got)
	}
}
