package llmhttp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dpc-go/dpc/sdk"
)

// The config attributes a key comes from.
const (
	AttrAPIKey     = "api_key"
	AttrAPIKeyFile = "api_key_file"
)

// maxKeyFileSize bounds what LoadKey reads: keys are short, and a wrong path
// that names a big file should fail fast rather than be read whole.
const maxKeyFileSize = 64 << 10

const redacted = "[redacted]"

// Key is an API key and where it came from. Its zero value is "no key".
// However it is formatted or marshalled, it shows "[redacted]", so logging
// a Key by mistake does not leak it; only Secret returns the key itself.
type Key struct {
	secret string
	source string
}

// Secret returns the key, for the one place that sends it: a request
// header.
func (k Key) Secret() string { return k.secret }

// IsSet reports whether there is a key.
func (k Key) IsSet() bool { return k.secret != "" }

// Source says where the key came from, for messages: "api_key" or
// `api_key_file "/path"`; "" when there is no key.
func (k Key) Source() string { return k.source }

// String returns "[redacted]", or "(none)" for the zero Key.
func (k Key) String() string {
	if k.secret == "" {
		return "(none)"
	}
	return redacted
}

// Format makes every fmt verb (%d and %x included, which would otherwise
// print a struct's fields) show String.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// MarshalText keeps the key out of JSON logs.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Redact replaces every occurrence of the key in s with "[redacted]": for
// text a server sent back, which may quote the key it rejected.
func (k Key) Redact(s string) string {
	if k.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, k.secret, redacted)
}

// CheckKeyConfig checks the api_key and api_key_file attributes of a
// config, without reading the file: call it from the config's Validate
// method. With required set, one of them must be given; envVar names the
// environment variable users usually keep the key in (OPENAI_API_KEY), for
// the message. Errors are *sdk.ConfigError naming the attribute.
func CheckKeyConfig(apiKey, apiKeyFile string, required bool, envVar string) error {
	key := strings.TrimSpace(apiKey)
	switch {
	case key != "" && apiKeyFile != "":
		return sdk.AttributeError([]string{AttrAPIKeyFile}, "set either api_key or api_key_file, not both")
	case apiKeyFile != "" && !filepath.IsAbs(apiKeyFile):
		return sdk.AttributeError([]string{AttrAPIKeyFile}, "must be an absolute path, got %q", apiKeyFile)
	case hasControl(key):
		// Never quote the value: it is the key.
		return sdk.AttributeError([]string{AttrAPIKey}, "contains control characters (a line break?); it must be the key alone")
	case required && key == "" && apiKeyFile == "":
		return sdk.AttributeError([]string{AttrAPIKey},
			"an API key is required: set api_key = env(%q) (the variable must be set where dpc runs) or api_key_file = \"/path/to/key\"", envVar)
	}
	return nil
}

// LoadKey returns the key from the api_key value or, if that is empty, from
// the file api_key_file names (surrounding whitespace trimmed). With
// neither, it returns the zero Key and no error. Errors are *sdk.ConfigError
// naming the attribute (and the file), never quoting the key.
func LoadKey(apiKey, apiKeyFile string) (Key, error) {
	if err := CheckKeyConfig(apiKey, apiKeyFile, false, ""); err != nil {
		return Key{}, err
	}
	if key := strings.TrimSpace(apiKey); key != "" {
		return Key{secret: key, source: AttrAPIKey}, nil
	}
	if apiKeyFile == "" {
		return Key{}, nil
	}
	fileErr := func(format string, args ...any) error {
		return sdk.AttributeError([]string{AttrAPIKeyFile}, "the API key file %q "+format, append([]any{apiKeyFile}, args...)...)
	}
	f, err := os.Open(apiKeyFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in the message
		}
		return Key{}, fileErr("cannot be read: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return Key{}, fileErr("is a directory")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	switch {
	case err != nil:
		return Key{}, fileErr("cannot be read: %v", err)
	case len(data) > maxKeyFileSize:
		return Key{}, fileErr("is larger than %d KiB; it must hold only the key", maxKeyFileSize>>10)
	}
	key := strings.TrimSpace(string(data))
	switch {
	case key == "":
		return Key{}, fileErr("is empty")
	case hasControl(key):
		return Key{}, fileErr("must hold only the key, on one line")
	}
	return Key{secret: key, source: fmt.Sprintf("%s %q", AttrAPIKeyFile, apiKeyFile)}, nil
}

// hasControl reports whether s has a control character, which no key has
// and which an HTTP header cannot carry.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
