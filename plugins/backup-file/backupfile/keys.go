package backupfile

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk"
)

const (
	// MaxKeyLength is the longest key accepted, in bytes.
	MaxKeyLength = 512
	// MaxSegmentLength is the longest segment (file or directory name) of a
	// key, in bytes; it leaves room under the usual 255-byte name limit for
	// the sidecar prefix.
	MaxSegmentLength = 200
	// reservedPrefix starts the names of the plugin's own files.
	reservedPrefix = ".dpc-"
)

// checkKey reports whether key is a valid object key: relative,
// slash-separated, with no empty, "." or ".." segments, no backslashes or
// control characters, and no segment starting with the reserved ".dpc-".
func checkKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%s: %w: key %q %s", pluginName, sdk.ErrInvalidArgument, key, why)
	}
	switch {
	case key == "":
		return bad("is empty")
	case len(key) > MaxKeyLength:
		return bad(fmt.Sprintf("is longer than %d bytes", MaxKeyLength))
	case !utf8.ValidString(key):
		return bad("is not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("is absolute; keys are relative")
	case strings.Contains(key, `\`):
		return bad("contains a backslash; separate segments with /")
	case strings.ContainsFunc(key, unicode.IsControl):
		return bad("contains a control character")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return bad("has an empty segment")
		case seg == "." || seg == "..":
			return bad(fmt.Sprintf("has a %q segment", seg))
		case strings.HasPrefix(seg, reservedPrefix):
			return bad(fmt.Sprintf("has a segment starting with %q, which is reserved", reservedPrefix))
		case len(seg) > MaxSegmentLength:
			return bad(fmt.Sprintf("has a segment longer than %d bytes", MaxSegmentLength))
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(key)) {
		return bad("is not a local path on this system")
	}
	return nil
}
