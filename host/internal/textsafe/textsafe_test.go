package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLineAndText(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in, line, text string
	}{
		"plain":                  {in: "Hello, Anna Müller 李", line: "Hello, Anna Müller 李", text: "Hello, Anna Müller 李"},
		"empty":                  {},
		"clear screen":           {in: "hi\x1b[2J\x1b[H", line: `hi\x1b[2J\x1b[H`, text: `hi\x1b[2J\x1b[H`},
		"window title (OSC)":     {in: "\x1b]0;owned\a", line: `\x1b]0;owned\x07`, text: `\x1b]0;owned\x07`},
		"newline and tab":        {in: "a\nb\tc", line: `a\nb\tc`, text: "a\nb\tc"},
		"carriage return":        {in: "ok\rFAKE", line: `ok\rFAKE`, text: `ok\rFAKE`},
		"DEL and C1 CSI":         {in: "a\x7fb\u009b31m", line: `a\x7fb\x9b31m`, text: `a\x7fb\x9b31m`},
		"right-to-left override": {in: "photo\u202egnp.exe", line: "photo<U+202E>gnp.exe", text: "photo<U+202E>gnp.exe"},
		"isolates and marks": {in: "\u2066a\u2069\u200e\u200f\u061c", line: "<U+2066>a<U+2069><U+200E><U+200F><U+061C>",
			text: "<U+2066>a<U+2069><U+200E><U+200F><U+061C>"},
		"line separator": {in: "a\u2028b", line: "a<U+2028>b", text: "a<U+2028>b"},
		"invalid UTF-8":  {in: "a\xffb\xc3", line: `a\xffb\xc3`, text: `a\xffb\xc3`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Line(tc.in); got != tc.line {
				t.Errorf("Line(%q): want %q, got %q", tc.in, tc.line, got)
			}
			if got := Text(tc.in); got != tc.text {
				t.Errorf("Text(%q): want %q, got %q", tc.in, tc.text, got)
			}
		})
	}
}

// FuzzLine: whatever the input, the output holds no control character but
// Text's newlines and tabs, no bidirectional control, and is valid UTF-8.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "hi", "\x1b[2J", "a\u202eb", "\xff\xfe", "a\nb\tc", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Line(s), Text(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
			}
			for _, r := range out {
				if (IsControl(r) && r != '\n' && r != '\t') || IsBidi(r) || isLineBreak(r) {
					t.Fatalf("%U left in %q (from %q)", r, out, s)
				}
			}
		}
		if strings.ContainsAny(Line(s), "\n\t") {
			t.Fatalf("Line left a newline or tab in %q", Line(s))
		}
	})
}
