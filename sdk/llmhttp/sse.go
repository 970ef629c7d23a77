package llmhttp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLineSize bounds a line of a stream (and an SSE event's data)
// when a reader is given no limit: far more than any chunk of an answer,
// small enough that a broken server cannot make us buffer without end.
const DefaultMaxLineSize = 1 << 20

// Event is one server-sent event.
type Event struct {
	// Type is the event's `event:` field; "" if it had none (the SSE
	// default type, "message").
	Type string
	// Data is the event's `data:` lines joined with "\n".
	Data string
	// ID is the last `id:` field seen in the stream so far.
	ID string
}

// SSEReader reads server-sent events (the text/event-stream format of the
// WHATWG HTML standard): lines ending in LF, CRLF or CR; `field: value`
// lines; lines starting with ':' are comments; a blank line ends an event;
// an event without data lines is not dispatched; an event cut short by the
// end of the stream is dropped. The `retry:` field is ignored.
type SSEReader struct {
	sc     *bufio.Scanner
	max    int
	first  bool
	lastID string
}

// NewSSEReader reads events from r. maxLine bounds each line, and each
// event's data, in bytes (without line endings); 0 or less means
// DefaultMaxLineSize. A longer line or event fails with ErrTooLong.
func NewSSEReader(r io.Reader, maxLine int) *SSEReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineSize
	}
	return &SSEReader{sc: newLineScanner(r, maxLine, scanSSELine), max: maxLine, first: true}
}

// Next returns the next event, or io.EOF at the end of the stream. After
// an error other than io.EOF, the reader is done.
func (r *SSEReader) Next() (Event, error) {
	var (
		typ     string
		data    bytes.Buffer
		hasData bool
	)
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if r.first {
			r.first = false
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 {
			if !hasData {
				typ = ""
				continue
			}
			return Event{Type: typ, Data: data.String(), ID: r.lastID}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			typ = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
			if data.Len() > r.max {
				return Event{}, ErrTooLong
			}
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.lastID = string(value)
			}
		}
	}
	return Event{}, scanErr(r.sc.Err())
}

// newLineScanner scans lines of at most max bytes (without line endings)
// with split. The buffer holds max plus a CRLF, so every line up to max
// fits, and lineLimit rejects the longer ones the buffer still holds.
func newLineScanner(r io.Reader, max int, split bufio.SplitFunc) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(4096, max+2)), max+2)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := split(data, atEOF)
		if err == nil && len(tok) > max {
			return 0, nil, ErrTooLong
		}
		return adv, tok, err
	})
	return sc
}

// scanErr maps a scanner's final error: nil is the end of the stream.
func scanErr(err error) error {
	switch {
	case err == nil:
		return io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		return ErrTooLong
	}
	return err
}

// scanSSELine splits at LF, CRLF or a lone CR.
func scanSSELine(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		switch {
		case data[i] == '\n':
			return i + 1, data[:i], nil
		case i+1 < len(data):
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		case atEOF:
			return i + 1, data[:i], nil
		}
		// A CR at the end of what we have: whether it is a CRLF depends on
		// the next byte.
		return 0, nil, nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}
