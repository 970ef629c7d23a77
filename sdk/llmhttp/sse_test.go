package llmhttp_test

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// readAllEvents reads events until an error and returns both.
func readAllEvents(r *llmhttp.SSEReader) ([]llmhttp.Event, error) {
	var out []llmhttp.Event
	for {
		ev, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	type ev = llmhttp.Event
	tests := map[string]struct {
		in   string
		want []ev
	}{
		"empty stream":         {in: "", want: nil},
		"one data event":       {in: "data: hello\n\n", want: []ev{{Data: "hello"}}},
		"typed event":          {in: "event: ping\ndata: {}\n\n", want: []ev{{Type: "ping", Data: "{}"}}},
		"multi-line data":      {in: "data: a\ndata: b\ndata:\ndata: c\n\n", want: []ev{{Data: "a\nb\n\nc"}}},
		"no space after colon": {in: "data:x\n\n", want: []ev{{Data: "x"}}},
		"only one space is removed": {
			in: "data:  two spaces\n\n", want: []ev{{Data: " two spaces"}},
		},
		"comments ignored": {in: ": keep-alive\ndata: x\n: another\n\n", want: []ev{{Data: "x"}}},
		"CRLF line endings": {
			in: "event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n", want: []ev{{Type: "a", Data: "1"}, {Type: "b", Data: "2"}},
		},
		"lone CR line endings": {in: "data: 1\r\rdata: 2\r\r", want: []ev{{Data: "1"}, {Data: "2"}}},
		"event without data is not dispatched and its type is reset": {
			in: "event: lost\n\ndata: kept\n\n", want: []ev{{Data: "kept"}},
		},
		"incomplete last event dropped": {in: "data: done\n\ndata: half", want: []ev{{Data: "done"}}},
		"unknown fields and retry ignored": {
			in: "retry: 100\nfoo: bar\nnocolon\ndata: x\n\n", want: []ev{{Data: "x"}},
		},
		"field without colon is a field with empty value": {in: "data\n\n", want: []ev{{Data: ""}}},
		"id persists": {
			in: "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", want: []ev{{ID: "7", Data: "a"}, {ID: "7", Data: "b"}, {ID: "", Data: "c"}},
		},
		"id with NUL ignored":                {in: "id: a\x00b\ndata: x\n\n", want: []ev{{Data: "x"}}},
		"BOM at start stripped":              {in: "\xef\xbb\xbfdata: x\n\n", want: []ev{{Data: "x"}}},
		"several blank lines between events": {in: "\n\ndata: 1\n\n\n\ndata: 2\n\n", want: []ev{{Data: "1"}, {Data: "2"}}},
		"OpenAI done marker": {
			in:   "data: {\"choices\":[]}\n\ndata: [DONE]\n\n",
			want: []ev{{Data: `{"choices":[]}`}, {Data: "[DONE]"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// One byte at a time as well as whole: a CRLF split across reads
			// must still count as one line ending.
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := readAllEvents(llmhttp.NewSSEReader(r, 0))
				if err != io.EOF {
					t.Fatalf("want io.EOF at the end, got %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("events: want %+v, got %+v", tc.want, got)
				}
			}
		})
	}
}

func TestSSEReaderLimits(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		max     int
		want    int // events read before the error
		wantErr error
	}{
		"line at the limit":           {in: "data: " + strings.Repeat("x", 4) + "\n\n", max: 10, want: 1, wantErr: io.EOF},
		"line at the limit with CRLF": {in: "data: " + strings.Repeat("x", 4) + "\r\n\r\n", max: 10, want: 1, wantErr: io.EOF},
		"line over the limit":         {in: "data: 1\n\ndata: " + strings.Repeat("x", 5) + "\n\n", max: 10, want: 1, wantErr: llmhttp.ErrTooLong},
		"line far over the limit":     {in: "data: " + strings.Repeat("x", 10000) + "\n\n", max: 10, want: 0, wantErr: llmhttp.ErrTooLong},
		"comment over the limit":      {in: ":" + strings.Repeat("x", 100) + "\n", max: 10, want: 0, wantErr: llmhttp.ErrTooLong},
		"event data over the limit": {
			in: "data: 12345\ndata: 12345\n\n", max: 10, want: 0, wantErr: llmhttp.ErrTooLong,
		},
		"unterminated line over the limit": {in: "data: " + strings.Repeat("x", 20), max: 10, want: 0, wantErr: llmhttp.ErrTooLong},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := readAllEvents(llmhttp.NewSSEReader(strings.NewReader(tc.in), tc.max))
			if !errors.Is(err, tc.wantErr) || len(got) != tc.want {
				t.Errorf("want %d events then %v, got %d then %v", tc.want, tc.wantErr, len(got), err)
			}
		})
	}
}

func TestSSEReaderReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("data: 1\n\ndata: 2"), iotest.ErrReader(boom))
	got, err := readAllEvents(llmhttp.NewSSEReader(r, 0))
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Errorf("want 1 event then the read error, got %d then %v", len(got), err)
	}
}

// referenceSSE is a straightforward reading of the WHATWG parsing rules
// over a whole input, without limits, to compare the streaming reader to.
func referenceSSE(in string) []llmhttp.Event {
	in = strings.TrimPrefix(in, "\xef\xbb\xbf")
	in = strings.ReplaceAll(in, "\r\n", "\n")
	in = strings.ReplaceAll(in, "\r", "\n")
	lines := strings.Split(in, "\n")
	lines = lines[:len(lines)-1] // after the last line ending: an unterminated line
	var (
		out         []llmhttp.Event
		typ, lastID string
		data        []string
		hasData     bool
	)
	for _, line := range lines {
		if line == "" {
			if hasData {
				out = append(out, llmhttp.Event{Type: typ, Data: strings.Join(data, "\n"), ID: lastID})
			}
			typ, data, hasData = "", nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			data, hasData = append(data, value), true
		case "id":
			if !strings.Contains(value, "\x00") {
				lastID = value
			}
		}
	}
	return out
}

// FuzzSSEReader compares the streaming reader with the reference over
// arbitrary bytes, read whole and one byte at a time, and checks that a
// small limit is never exceeded.
func FuzzSSEReader(f *testing.F) {
	for _, seed := range []string{
		"",
		"data: hello\n\n",
		"event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		"data: 1\r\rdata: 2\r\r",
		": comment\nid: 3\ndata\n\n",
		"\xef\xbb\xbfdata: x\n\nevent: e\n\n",
		"data: [DONE]\n\ndata: tail",
		"id: a\x00b\ndata:x\r\n\n\r",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := referenceSSE(string(in))
		readers := []io.Reader{strings.NewReader(string(in))}
		if len(in) <= 1<<10 {
			// Byte by byte costs a rescan of the line per byte: keep it to
			// inputs small enough to stay fast.
			readers = append(readers, iotest.OneByteReader(strings.NewReader(string(in))))
		}
		for _, r := range readers {
			got, err := readAllEvents(llmhttp.NewSSEReader(r, 0))
			if err != io.EOF {
				t.Fatalf("want io.EOF, got %v", err)
			}
			if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("input %q:\nwant %+v\ngot  %+v", in, want, got)
			}
		}
		const small = 16
		got, err := readAllEvents(llmhttp.NewSSEReader(strings.NewReader(string(in)), small))
		if err != io.EOF && !errors.Is(err, llmhttp.ErrTooLong) {
			t.Fatalf("with limit %d: want io.EOF or ErrTooLong, got %v", small, err)
		}
		for i, ev := range got {
			if i >= len(want) || len(ev.Data) > small || len(ev.Type) > small || ev != want[i] {
				t.Fatalf("with limit %d: event %d is %+v, want the reference's %+v, within the limit", small, i, ev, want)
			}
		}
	})
}

// FuzzSSERoundTrip encodes an event the way a server does and checks that
// it reads back unchanged.
func FuzzSSERoundTrip(f *testing.F) {
	f.Add("message_start", "{\"type\":\"message_start\"}", false)
	f.Add("", "line one\nline two\n\nline four", true)
	f.Add("e", "", false)
	f.Fuzz(func(t *testing.T, typ, data string, crlf bool) {
		typ = strings.NewReplacer("\r", "", "\n", "").Replace(typ)
		data = strings.ReplaceAll(data, "\r", "")
		nl := "\n"
		if crlf {
			nl = "\r\n"
		}
		var b strings.Builder
		b.WriteString(": keep-alive" + nl)
		if typ != "" {
			b.WriteString("event: " + typ + nl)
		}
		for _, line := range strings.Split(data, "\n") {
			b.WriteString("data: " + line + nl)
		}
		b.WriteString(nl)
		got, err := readAllEvents(llmhttp.NewSSEReader(strings.NewReader(b.String()), 0))
		want := llmhttp.Event{Type: typ, Data: data}
		if err != io.EOF || len(got) != 1 || got[0] != want {
			t.Fatalf("stream %q: want [%+v] then EOF, got %+v then %v", b.String(), want, got, err)
		}
	})
}
