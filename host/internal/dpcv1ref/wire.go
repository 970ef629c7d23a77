package dpcv1ref

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// HeaderLen is the length of the frame header: ten ASCII decimal digits,
// zero-padded (§4.3).
const HeaderLen = 10

// MaxFrameSize caps the frames this package reads. The Python node has no cap
// (§4.3); this one only keeps a test from allocating absurd amounts.
const MaxFrameSize = 64 << 20

// ErrFrameTooLarge is returned by [ReadFrame] for a header above the cap.
var ErrFrameTooLarge = errors.New("dpcv1ref: frame larger than the cap")

// ErrBadHeader is returned by [ReadFrame] when the header is not a number
// Python's int() accepts (the Python reader then logs "Protocol error:
// invalid message format" and the connection ends).
var ErrBadHeader = errors.New("dpcv1ref: invalid frame header")

// WriteFrame writes body with its header, f"{n:010d}" (§4.3), in one write.
func WriteFrame(w io.Writer, body []byte) error {
	buf := make([]byte, 0, HeaderLen+len(body))
	buf = fmt.Appendf(buf, "%010d", len(body))
	buf = append(buf, body...)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame as read_message does (§4.3): ten header bytes,
// parsed as leniently as Python's int(header.decode()) (surrounding
// whitespace, a sign and underscores between digits are accepted; a negative
// length is an error), then exactly that many body bytes. max caps the body
// length; max <= 0 means [MaxFrameSize]. It returns io.EOF when the stream
// ends cleanly before a header and io.ErrUnexpectedEOF inside a frame. The
// body is returned as read; decoding the JSON is the caller's business.
func ReadFrame(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		max = MaxFrameSize
	}
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n, ok := pythonInt(hdr[:])
	if !ok || n < 0 {
		return nil, fmt.Errorf("%w: %q", ErrBadHeader, hdr[:])
	}
	if n > max {
		return nil, fmt.Errorf("%w: %d > %d", ErrFrameTooLarge, n, max)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}

// pythonInt parses b as int(b.decode()) would, for ASCII digits: valid
// UTF-8, surrounding Unicode whitespace (int() does not strip U+001C–U+001F,
// and neither does unicode.IsSpace), an optional sign, and digits with
// single underscores between them. Non-ASCII digits, which int() accepts,
// are refused.
func pythonInt(b []byte) (int64, bool) {
	if !utf8.Valid(b) {
		return 0, false
	}
	s := strings.TrimFunc(string(b), unicode.IsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n int64
	prevDigit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0')
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(s):
			prevDigit = false
		default:
			return 0, false
		}
	}
	if !prevDigit {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// decodeJSON decodes a frame body as json.loads(payload.decode()) would:
// the body must be valid UTF-8 and one JSON value. Numbers come back as
// float64, objects as map[string]any.
func decodeJSON(body []byte) (any, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("body is not valid UTF-8")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// PythonJSON encodes v the way Python's json.dumps(obj) writes it (§4.3):
// ", " and ": " separators, non-ASCII characters (and DEL) as lowercase
// \uXXXX escapes with surrogate pairs above the BMP, and no HTML escaping.
// Keys of Go maps come out sorted; the frames this package builds keep
// Python's key order. Numbers are written as Go writes them, so a float with
// an integral value (Python's 1.0) comes out as 1: send integers as Go ints.
func PythonJSON(v any) ([]byte, error) {
	compact, err := marshalNoHTML(v)
	if err != nil {
		return nil, err
	}
	return pythonStyle(compact)
}

// marshalNoHTML is json.Marshal without the \u003c-style HTML escapes, which
// Python does not write.
func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// pythonStyle re-spaces compact JSON with Python's default separators and
// escapes every non-ASCII character, as json.dumps(ensure_ascii=True) does.
func pythonStyle(js []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, js); err != nil {
		return nil, err
	}
	src := compact.Bytes()
	out := make([]byte, 0, len(src)+len(src)/8)
	inString := false
	for i := 0; i < len(src); {
		c := src[i]
		if !inString {
			out = append(out, c)
			switch c {
			case '"':
				inString = true
			case ',', ':':
				out = append(out, ' ')
			}
			i++
			continue
		}
		switch {
		case c == '\\':
			// Go's escapes (\" \\ \n \u0001 \u2028 …) are Python's too.
			out = append(out, c, src[i+1])
			i += 2
		case c == '"':
			out = append(out, c)
			inString = false
			i++
		case c == 0x7f:
			out = append(out, `\u007f`...)
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
			i += size
		}
	}
	return out, nil
}

// field is one key of an ordered JSON object.
type field struct {
	k string
	v any
}

// object is a JSON object that keeps its key order, so that the frames built
// here list their keys in the order Python's dicts do.
type object []field

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoHTML(f.k)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoHTML(f.v)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// ordered turns m into an object listing the keys of order first (those
// present in m), then any other keys sorted.
func ordered(m map[string]any, order ...string) object {
	o := make(object, 0, len(m))
	seen := make(map[string]bool, len(order))
	for _, k := range order {
		if v, ok := m[k]; ok {
			o = append(o, field{k, v})
			seen[k] = true
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		o = append(o, field{k, m[k]})
	}
	return o
}

// pyB64Decode decodes base64 as Python's base64.b64decode(s) does by
// default: characters outside the standard alphabet are discarded first, and
// the padding must then be right.
func pyB64Decode(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
			clean = append(clean, c)
		}
	}
	return base64.StdEncoding.DecodeString(string(clean))
}

// nullable is Python's "x or None" for a display name: "" goes out as null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
