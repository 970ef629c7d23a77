package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// IsControl reports whether r is a C0 control, DEL or a C1 control.
func IsControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// IsBidi reports whether r is a Unicode bidirectional formatting character:
// the marks U+200E, U+200F and U+061C, the embeddings and overrides
// U+202A–U+202E, and the isolates U+2066–U+2069. They change the order in
// which the text after them is shown.
func IsBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// isLineBreak reports whether r is one of the Unicode line and paragraph
// separators, which some terminals break lines at.
func isLineBreak(r rune) bool { return r == 0x2028 || r == 0x2029 }

// Line returns s made safe to print as (part of) one line: every control
// character, newlines and tabs included, is shown as a Go-style escape
// ("\x1b", "\n"), bidirectional controls and line separators as "<U+202E>",
// and bytes that are not UTF-8 as "\xff". Text without any of them is
// returned as it is.
func Line(s string) string { return escape(s, false) }

// Text is [Line] for multi-line text such as a message: newlines and tabs
// are kept, everything else Line escapes is escaped.
func Text(s string) string { return escape(s, true) }

func escape(s string, multiline bool) string {
	unsafe := func(r rune, size int) bool {
		switch {
		case r == utf8.RuneError && size <= 1:
			return true
		case multiline && (r == '\n' || r == '\t'):
			return false
		}
		return IsControl(r) || IsBidi(r) || isLineBreak(r)
	}
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, size) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafe(r, size):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, "<%U>", r)
		}
		i += size
	}
	return b.String()
}
