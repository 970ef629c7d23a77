package dptp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

const (
	// Protocol is the ALPN protocol name of native DPTP sessions and the
	// value of HELLO.protocol.
	Protocol = "dptp/1"

	// HeaderSize is the length of the frame header: ASCII decimal digits
	// giving the body length, zero-padded ("%010d").
	HeaderSize = 10

	// DefaultMaxFrameSize is the largest frame body (in bytes, header not
	// counted) a Reader accepts by default and the largest one Encode
	// produces.
	DefaultMaxFrameSize = 4 << 20

	// MaxCommandLen is the longest command name: [A-Z0-9_]{1,64}.
	MaxCommandLen = 64

	// initialBodyBuffer is how much of a large frame body is allocated before
	// any of it has arrived; the buffer then grows with the bytes actually
	// received, so a peer that announces a large frame and stalls pins little
	// memory.
	initialBodyBuffer = 256 << 10
)

// Frame is one decoded DPTP frame: the command name and the raw JSON of its
// payload object. Payload is nil when the frame had no "payload" key or
// "payload": null. A Frame returned by Reader.Read always has a well-formed
// command name and a Payload that is nil or a JSON object.
type Frame struct {
	// Command is the command name, [A-Z0-9_]{1,64}.
	Command string
	// Payload is the payload object exactly as received, or nil.
	Payload json.RawMessage
	// Body is the whole frame body as received: D-PC v1's HELLO_ACK puts
	// its fields next to "command" rather than in a payload.
	Body json.RawMessage
}

// Reader reads DPTP frames from a byte stream. It does no read-ahead, so
// nothing past the current frame is consumed. A Reader is not safe for
// concurrent use.
type Reader struct {
	r io.Reader
	// max may change while a Read waits for a header (SetMax).
	max atomic.Int64
	hdr [HeaderSize]byte
	err error // sticky: set once the stream position is lost
}

// NewReader returns a Reader that accepts frame bodies of at most maxFrame
// bytes; maxFrame <= 0 means DefaultMaxFrameSize.
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	rd := &Reader{r: r}
	rd.max.Store(int64(maxFrame))
	return rd
}

// SetMax changes the largest frame body the next frames may have; maxFrame
// <= 0 means DefaultMaxFrameSize. It is safe to call while another
// goroutine is in Read: a frame whose header has not arrived yet is held to
// the new limit.
func (r *Reader) SetMax(maxFrame int) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	r.max.Store(int64(maxFrame))
}

// Read returns the next frame.
//
// It returns io.EOF only when the stream ends cleanly between frames, and an
// error wrapping io.ErrUnexpectedEOF when it ends inside one. A header error
// (ErrBadHeader, ErrFrameTooLarge), a truncation or a read error from the
// underlying stream is sticky: the position in the stream is lost, so every
// later call returns the same error and the connection must be closed. An
// ErrBadFrame error is not sticky (the whole body was consumed), but DPTP
// sessions close the connection on it too.
//
// The announced length is checked against the maximum before any body memory
// is allocated, and a large body buffer grows with the bytes that arrive
// rather than being allocated up front.
func (r *Reader) Read() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	n, err := io.ReadFull(r.r, r.hdr[:])
	switch {
	case err == io.EOF:
		r.err = io.EOF
		return Frame{}, r.err
	case errors.Is(err, io.ErrUnexpectedEOF):
		r.err = fmt.Errorf("dptp: stream ended inside a frame header (%d of %d bytes): %w", n, HeaderSize, io.ErrUnexpectedEOF)
		return Frame{}, r.err
	case err != nil:
		r.err = fmt.Errorf("dptp: read frame header: %w", err)
		return Frame{}, r.err
	}
	size, err := parseHeader(r.hdr[:])
	if err != nil {
		r.err = err
		return Frame{}, r.err
	}
	if limit := r.max.Load(); size > limit {
		r.err = fmt.Errorf("%w: %d bytes announced, maximum is %d", ErrFrameTooLarge, size, limit)
		return Frame{}, r.err
	}
	body, err := r.readBody(int(size))
	if err != nil {
		r.err = err
		return Frame{}, r.err
	}
	return parseFrame(body)
}

// readBody reads exactly size bytes. Small bodies are read into one exact
// buffer; larger ones into a buffer that starts at initialBodyBuffer and
// grows fourfold (never beyond size) as it fills.
func (r *Reader) readBody(size int) ([]byte, error) {
	buf := make([]byte, min(size, initialBodyBuffer))
	filled := 0
	for {
		m, err := io.ReadFull(r.r, buf[filled:])
		filled += m
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("dptp: stream ended inside a frame body (%d of %d bytes): %w", filled, size, io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("dptp: read frame body: %w", err)
		}
		if filled == size {
			return buf, nil
		}
		grown := make([]byte, min(4*len(buf), size))
		copy(grown, buf)
		buf = grown
	}
}

// httpPrefixes are the starts of HTTP/1.x request lines and the HTTP/2
// preface, i.e. a browser or an HTTP client that dialled a DPTP port.
var httpPrefixes = []string{"GET /", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PRI * HTTP"}

func parseHeader(h []byte) (int64, error) {
	var n int64
	for _, c := range h {
		if c < '0' || c > '9' {
			for _, p := range httpPrefixes {
				if bytes.HasPrefix(h, []byte(p)) {
					return 0, fmt.Errorf("%w: HTTP request on a DPTP port (header %q)", ErrBadHeader, h)
				}
			}
			return 0, fmt.Errorf("%w: %q is not %d ASCII decimal digits", ErrBadHeader, h, HeaderSize)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// parseFrame checks the envelope {"command": "NAME", "payload": {...}}.
// Other top-level keys are ignored (D-PC v1's HELLO_ACK puts its fields
// there); a repeated "command" or "payload" key is rejected so that no two
// JSON parsers can disagree about what the frame says.
func parseFrame(body []byte) (Frame, error) {
	if len(body) == 0 {
		return Frame{}, fmt.Errorf("%w: empty frame body", ErrBadFrame)
	}
	if !utf8.Valid(body) {
		return Frame{}, fmt.Errorf("%w: body is not valid UTF-8", ErrBadFrame)
	}
	if !json.Valid(body) {
		return Frame{}, fmt.Errorf("%w: body is not valid JSON", ErrBadFrame)
	}
	if !isObject(body) {
		return Frame{}, fmt.Errorf("%w: body is not a JSON object", ErrBadFrame)
	}
	var cmdRaw, payload []byte
	err := eachMember(body, func(key string, val []byte) error {
		switch key {
		case "command":
			if cmdRaw != nil {
				return fmt.Errorf("%w: duplicate \"command\" key", ErrBadFrame)
			}
			cmdRaw = val
		case "payload":
			if payload != nil {
				return fmt.Errorf("%w: duplicate \"payload\" key", ErrBadFrame)
			}
			payload = val
		}
		return nil
	})
	if err != nil {
		return Frame{}, err
	}
	if cmdRaw == nil {
		return Frame{}, fmt.Errorf("%w: missing \"command\"", ErrBadFrame)
	}
	if cmdRaw[0] != '"' {
		return Frame{}, fmt.Errorf("%w: \"command\" is a JSON %s, want a string", ErrBadFrame, jsonKind(cmdRaw))
	}
	cmd, err := unquote(cmdRaw)
	if err != nil {
		return Frame{}, fmt.Errorf("%w: \"command\": %v", ErrBadFrame, err)
	}
	if !validCommand(cmd) {
		return Frame{}, fmt.Errorf("%w: command %s is not [A-Z0-9_]{1,%d}", ErrBadFrame, quoteShort(cmd), MaxCommandLen)
	}
	switch {
	case payload == nil || string(payload) == "null":
		payload = nil
	case payload[0] != '{':
		return Frame{}, fmt.Errorf("%w: payload of %s is a JSON %s, want an object", ErrBadFrame, cmd, jsonKind(payload))
	}
	return Frame{Command: cmd, Payload: payload, Body: body}, nil
}

// validCommand reports whether s matches [A-Z0-9_]{1,64}.
func validCommand(s string) bool {
	if len(s) == 0 || len(s) > MaxCommandLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Encode returns the complete frame (header and body) for command and
// payload. payload is marshalled with encoding/json (HTML characters are not
// escaped); it must encode to a JSON object, or to null / be nil for a frame
// without payload. If payload is a Payload, its Command must equal command
// and it must pass Validate, so this host never sends what it would reject.
// The body may not exceed DefaultMaxFrameSize.
func Encode(command string, payload any) ([]byte, error) {
	if !validCommand(command) {
		return nil, fmt.Errorf("%w: command %s is not [A-Z0-9_]{1,%d}", ErrBadFrame, quoteShort(command), MaxCommandLen)
	}
	if v := reflect.ValueOf(payload); v.Kind() == reflect.Pointer && v.IsNil() {
		payload = nil // a typed nil pointer means "no payload", not a call on nil
	}
	if p, ok := payload.(Payload); ok {
		if p.Command() != command {
			return nil, fmt.Errorf("%w: %T is the payload of %s, not %s", ErrCommandMismatch, p, p.Command(), command)
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	b.Grow(HeaderSize + 64)
	b.WriteString("0000000000")
	b.WriteString(`{"command":"`)
	b.WriteString(command)
	b.WriteString(`"`)
	if payload != nil {
		mark := b.Len()
		b.WriteString(`,"payload":`)
		start := b.Len()
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(payload); err != nil {
			return nil, fmt.Errorf("dptp: encode %s payload: %w", command, err)
		}
		b.Truncate(b.Len() - 1) // Encoder's trailing newline
		switch enc := b.Bytes()[start:]; {
		case string(enc) == "null":
			b.Truncate(mark)
		case enc[0] != '{':
			return nil, fmt.Errorf("%w: payload of %s encodes to a JSON %s, want an object", ErrBadFrame, command, jsonKind(enc))
		}
	}
	b.WriteByte('}')
	out := b.Bytes()
	size := len(out) - HeaderSize
	if size > DefaultMaxFrameSize {
		return nil, fmt.Errorf("%w: %s frame would be %d bytes, maximum is %d", ErrFrameTooLarge, command, size, DefaultMaxFrameSize)
	}
	copy(out, fmt.Sprintf("%0*d", HeaderSize, size))
	return out, nil
}

// Writer writes DPTP frames to a byte stream. It is safe for concurrent use:
// each frame is encoded first and then written with a single Write call under
// a mutex, so frames from different goroutines never interleave.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	err error // sticky: a failed Write may have left half a frame on the stream
}

// NewWriter returns a Writer that writes frames to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Write encodes one frame (see Encode) and writes it. An encoding error
// writes nothing and leaves the Writer usable. A write error is sticky: the
// stream may hold a partial frame, so every later Write returns it too.
func (w *Writer) Write(command string, payload any) error {
	frame, err := Encode(command, payload)
	if err != nil {
		return err
	}
	return w.write(frame, command)
}

// write writes one whole frame under the lock.
func (w *Writer) write(frame []byte, command string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.Write(frame); err != nil {
		w.err = fmt.Errorf("dptp: write %s frame: %w", command, err)
		return w.err
	}
	return nil
}

// WriteBody frames and writes body, a JSON object that is sent as it is
// (see EncodeBody); for D-PC v1's HELLO_ACK, which has no payload.
func (w *Writer) WriteBody(body []byte) error {
	frame, err := EncodeBody(body)
	if err != nil {
		return err
	}
	f, _ := parseFrame(body)
	return w.write(frame, f.Command)
}

// EncodeBody returns the frame (header and body) for a body given as it is:
// it must be a valid envelope (see Reader) no larger than
// DefaultMaxFrameSize.
func EncodeBody(body []byte) ([]byte, error) {
	if len(body) > DefaultMaxFrameSize {
		return nil, fmt.Errorf("%w: body of %d bytes, maximum is %d", ErrFrameTooLarge, len(body), DefaultMaxFrameSize)
	}
	if _, err := parseFrame(body); err != nil {
		return nil, err
	}
	return append(fmt.Appendf(nil, "%0*d", HeaderSize, len(body)), body...), nil
}

// Send writes p as a frame of command p.Command().
func (w *Writer) Send(p Payload) error {
	return w.Write(p.Command(), p)
}

// ValidCommand reports whether s is a well-formed command name,
// [A-Z0-9_]{1,64}, for formats that carry one outside a frame (mailbox
// envelopes).
func ValidCommand(s string) bool { return validCommand(s) }
