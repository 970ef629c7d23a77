package files

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dpc-go/dpc/host/internal/textsafe"
)

// ErrUnsafeName means a file name is refused: it could not be stored as it
// is everywhere, or it would mislead whoever reads it.
var ErrUnsafeName = errors.New("unsafe file name")

// windowsReserved are the device names Windows will not use as file names,
// whatever the extension ("CON.txt", "com1.tar.gz").
var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true}

// CheckName checks the name a file is offered, and will be saved, under:
// a base name (no '/' or '\'), valid UTF-8, without control characters,
// without the Unicode bidirectional controls that make "gpj.exe" show as
// "exe.jpg" (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), not a
// Windows device name (CON, PRN, AUX, NUL, COM1–9, LPT1–9, with any
// extension, in any case) and not ending in a dot or a space. Both the
// sender (before offering) and the receiver (on FILE_OFFER) check it. The
// error wraps ErrUnsafeName.
func CheckName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrUnsafeName, name, why) }
	switch {
	case name == "":
		return bad("the name is empty")
	case !utf8.ValidString(name):
		return bad("the name is not valid UTF-8")
	case name == "." || name == "..":
		return bad("not a file name")
	case strings.ContainsAny(name, `/\`):
		return bad(`a file name cannot hold "/" or "\"`)
	}
	for _, r := range name {
		switch {
		case textsafe.IsControl(r):
			return bad(fmt.Sprintf("it holds the control character %U", r))
		case textsafe.IsBidi(r):
			return bad(fmt.Sprintf("it holds %U, a bidirectional control that changes how the name reads (e.g. an .exe shown as .jpg)", r))
		}
	}
	if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
		return bad("it ends in a dot or a space, which Windows drops, so the name would change")
	}
	stem, _, _ := strings.Cut(name, ".")
	if windowsReserved[strings.ToUpper(strings.TrimRight(stem, " "))] {
		return bad("it is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9), whatever the extension; rename the file")
	}
	return nil
}
