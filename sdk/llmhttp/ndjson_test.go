package llmhttp_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/dpc-go/dpc/sdk/llmhttp"
)

func readAllLines(r *llmhttp.NDJSONReader) ([]string, error) {
	var out []string
	for {
		line, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(line))
	}
}

func TestNDJSONReader(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		max     int
		want    []string
		wantErr error
	}{
		"empty":                   {in: "", wantErr: io.EOF},
		"two lines":               {in: "{\"a\":1}\n{\"b\":2}\n", want: []string{`{"a":1}`, `{"b":2}`}, wantErr: io.EOF},
		"last line unterminated":  {in: "{\"a\":1}\n{\"b\":2}", want: []string{`{"a":1}`, `{"b":2}`}, wantErr: io.EOF},
		"CRLF":                    {in: "1\r\n2\r\n", want: []string{"1", "2"}, wantErr: io.EOF},
		"blank lines skipped":     {in: "\n  \n1\n\r\n\t\n2\n\n", want: []string{"1", "2"}, wantErr: io.EOF},
		"line at the limit":       {in: "12345\n", max: 5, want: []string{"12345"}, wantErr: io.EOF},
		"line at the limit, CRLF": {in: "12345\r\n6\r\n", max: 5, want: []string{"12345", "6"}, wantErr: io.EOF},
		"line over the limit":     {in: "1\n123456\n2\n", max: 5, want: []string{"1"}, wantErr: llmhttp.ErrTooLong},
		"huge line":               {in: "1\n" + strings.Repeat("x", 1<<16), max: 100, want: []string{"1"}, wantErr: llmhttp.ErrTooLong},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := readAllLines(llmhttp.NewNDJSONReader(r, tc.max))
				if !errors.Is(err, tc.wantErr) || !reflect.DeepEqual(got, tc.want) {
					t.Errorf("want %q then %v, got %q then %v", tc.want, tc.wantErr, got, err)
				}
			}
		})
	}
}

func TestNDJSONLinesAreCopies(t *testing.T) {
	t.Parallel()
	r := llmhttp.NewNDJSONReader(strings.NewReader("first\nsecond\n"), 0)
	a, _ := r.Next()
	b, _ := r.Next()
	if string(a) != "first" || string(b) != "second" {
		t.Errorf("want the first line kept after reading the second, got %q and %q", a, b)
	}
}

// FuzzNDJSONReader compares the reader with splitting the whole input, for
// any bytes and any limit.
func FuzzNDJSONReader(f *testing.F) {
	f.Add([]byte("{\"message\":{\"content\":\"hi\"},\"done\":false}\n{\"done\":true}\n"), uint16(0))
	f.Add([]byte("a\r\n\r\nbb\r\nccc"), uint16(2))
	f.Add([]byte("\n\n \n"), uint16(1))
	f.Add([]byte("x\ry\n"), uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		limit := int(max)
		if limit == 0 {
			limit = llmhttp.DefaultMaxLineSize
		}
		var want []string
		wantErr := io.EOF
		raw := bytes.Split(in, []byte("\n"))
		if len(raw[len(raw)-1]) == 0 {
			raw = raw[:len(raw)-1] // nothing after the last newline
		}
		for _, line := range raw {
			line = bytes.TrimSuffix(line, []byte("\r"))
			if len(line) > limit {
				wantErr = llmhttp.ErrTooLong
				break
			}
			if len(bytes.TrimSpace(line)) > 0 {
				want = append(want, string(line))
			}
		}
		got, err := readAllLines(llmhttp.NewNDJSONReader(bytes.NewReader(in), int(max)))
		if !errors.Is(err, wantErr) || len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("input %q, limit %d: want %q then %v, got %q then %v", in, limit, want, wantErr, got, err)
		}
	})
}
