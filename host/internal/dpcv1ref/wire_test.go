package dpcv1ref

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// The want strings below were produced by CPython 3.11's json.dumps.
func TestPythonJSON(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   any
		want string
	}{
		"frame with non-ASCII, astral and escapes": {
			in:   object{{"command", "X"}, {"payload", map[string]any{"t": "é中😀 \" \\ / \t"}}},
			want: `{"command": "X", "payload": {"t": "\u00e9\u4e2d\ud83d\ude00 \" \\ / \t"}}`,
		},
		"control, DEL, line separator and HTML characters": {
			in:   map[string]any{"b": "é😀<>&\x7f\n\b\f\x01\u2028"},
			want: `{"b": "\u00e9\ud83d\ude00<>&\u007f\n\b\f\u0001\u2028"}`,
		},
		"nested containers and separators inside strings": {
			in:   []any{1, []any{2, map[string]any{}}, map[string]any{"a": nil}, "x,y:z"},
			want: `[1, [2, {}], {"a": null}, "x,y:z"]`,
		},
		"numbers and booleans": {
			in:   object{{"k", 1000000000000}, {"f", 0.5}, {"neg", -3}, {"b", false}},
			want: `{"k": 1000000000000, "f": 0.5, "neg": -3, "b": false}`,
		},
		"HELLO_ACK keeps Python key order": {
			in:   object{{"command", "HELLO_ACK"}, {"status", "OK"}, {"name", nil}, {"node_id", "dpc-node-x"}},
			want: `{"command": "HELLO_ACK", "status": "OK", "name": null, "node_id": "dpc-node-x"}`,
		},
		"empty containers": {
			in:   object{{"messages", []any{}}, {"metadata", map[string]any{}}},
			want: `{"messages": [], "metadata": {}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := PythonJSON(tc.in)
			if err != nil {
				t.Fatalf("PythonJSON: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("PythonJSON:\n got %s\nwant %s", got, tc.want)
			}
			for _, b := range got {
				if b >= 0x7f {
					t.Fatalf("output has non-ASCII byte %#x", b)
				}
			}
			// Round trip: the Python-style text decodes to what the compact
			// Go encoding decodes to.
			compact, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if err := json.Unmarshal(compact, &b); err != nil {
				t.Fatal(err)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Errorf("round trip differs:\n got %s\nwant %s", ja, jb)
			}
		})
	}
}

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body       string
		wantHeader string
	}{
		"empty object":   {`{}`, "0000000002"},
		"GET_PROVIDERS":  {`{"command": "GET_PROVIDERS"}`, "0000000028"},
		"escaped text":   {`{"t": "\u00e9"}`, "0000000015"},
		"raw UTF-8 body": {`{"t":"é"}`, "0000000010"}, // n counts bytes
		"list body":      {`[1, 2]`, "0000000006"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := WriteFrame(&buf, []byte(tc.body)); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.wantHeader+tc.body {
				t.Fatalf("wire = %q, want %q", got, tc.wantHeader+tc.body)
			}
			got, err := ReadFrame(&buf, 0)
			if err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			if string(got) != tc.body {
				t.Errorf("ReadFrame = %q, want %q", got, tc.body)
			}
			if _, err := ReadFrame(&buf, 0); !errors.Is(err, io.EOF) {
				t.Errorf("ReadFrame at end = %v, want io.EOF", err)
			}
		})
	}
}

// Which headers Python's int(header.decode()) accepts was checked with
// CPython 3.11.
func TestReadFrameHeader(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		wire    string
		max     int64
		want    string
		wantErr error
	}{
		"zero padded":                 {wire: "0000000005hello", want: "hello"},
		"leading space":               {wire: " 000000005hello", want: "hello"},
		"trailing space":              {wire: "000000005 hello", want: "hello"},
		"tab and newline":             {wire: "\t00000005\nhello", want: "hello"},
		"plus sign":                   {wire: "+000000005hello", want: "hello"},
		"underscore":                  {wire: "00000_0005hello", want: "hello"},
		"negative":                    {wire: "-000000005hello", wantErr: ErrBadHeader},
		"sign inside":                 {wire: "00000000-5hello", wantErr: ErrBadHeader},
		"double underscore":           {wire: "00000__005hello", wantErr: ErrBadHeader},
		"leading underscore":          {wire: "__00000005hello", wantErr: ErrBadHeader},
		"trailing underscore":         {wire: "000000000_hello", wantErr: ErrBadHeader},
		"hex digit":                   {wire: "0000000x05hello", wantErr: ErrBadHeader},
		"HTTP request":                {wire: "GET / HTTP/1.1\r\n", wantErr: ErrBadHeader},
		"all spaces":                  {wire: "          hello", wantErr: ErrBadHeader},
		"file separator not stripped": {wire: "\x1c00000005hello", wantErr: ErrBadHeader},
		"invalid UTF-8":               {wire: "\xff00000005hello", wantErr: ErrBadHeader},
		"above the cap":               {wire: "0000000006hello!", max: 5, wantErr: ErrFrameTooLarge},
		"short body":                  {wire: "0000000009hello", wantErr: io.ErrUnexpectedEOF},
		"short header":                {wire: "00000", wantErr: io.ErrUnexpectedEOF},
		"nothing":                     {wire: "", wantErr: io.EOF},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadFrame(strings.NewReader(tc.wire), tc.max)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadFrame error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("ReadFrame = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestPyB64Decode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		want    string
		wantErr bool
	}{
		"plain":            {in: "aGVsbG8=", want: "hello"},
		"junk is dropped":  {in: "aGV s\nbG8*=", want: "hello"},
		"missing padding":  {in: "aGVsbG8", wantErr: true},
		"url-safe letters": {in: "-_-_", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := pyB64Decode(tc.in)
			if (err != nil) != tc.wantErr || (err == nil && string(got) != tc.want) {
				t.Fatalf("pyB64Decode(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
