package canon

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

var errCaller = errors.New("caller's sentinel")

func wrapCaller(err error) error { return fmt.Errorf("%w: %w", errCaller, err) }

// TestReaderRefusesNonCanonicalBytes: every way bytes can fail to be the
// one encoding of a (length-prefixed string, uint64, byte) record is
// refused with canon's sentinel under the caller's.
func TestReaderRefusesNonCanonicalBytes(t *testing.T) {
	good := AppendBytes(nil, []byte("abc"))
	good = AppendUint64(good, 7)
	good = append(good, 9)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrVarint},
		{"unterminated uvarint", []byte{0x80}, ErrVarint},
		{"uvarint beyond 64 bits", bytes.Repeat([]byte{0xff}, 11), ErrVarint},
		{"non-minimal length", append([]byte{0x83, 0x00}, good[1:]...), ErrNonMinimal},
		{"non-minimal zero", []byte{0x80, 0x00}, ErrNonMinimal},
		{"length beyond the limit", append([]byte{5}, "abcde"...), ErrTooLong},
		{"truncated string", good[:3], ErrTruncated},
		{"truncated integer", good[:8], ErrTruncated},
		{"truncated byte", good[:len(good)-1], ErrTruncated},
		{"trailing byte", append(bytes.Clone(good), 0), ErrTrailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in, wrapCaller)
			r.Bytes(4, "name")
			r.Uint64("count")
			r.Byte("flag")
			err := r.End()
			if !errors.Is(err, tc.want) || !errors.Is(err, errCaller) {
				t.Fatalf("want %v under the caller's sentinel, got %v", tc.want, err)
			}
		})
	}
	r := NewReader(good, wrapCaller)
	if s, n, f := r.Bytes(4, "name"), r.Uint64("count"), r.Byte("flag"); r.End() != nil || string(s) != "abc" || n != 7 || f != 9 {
		t.Fatalf("good record: %q %d %d %v", s, n, f, r.Err())
	}
}

// TestReaderFirstProblemSticks: a caller's Fail and later reads do not
// replace the first problem, and reads after it return zero values.
func TestReaderFirstProblemSticks(t *testing.T) {
	r := NewReader([]byte{1, 2, 3}, nil)
	mine := errors.New("field out of range")
	r.Fail(mine)
	if b := r.Byte("x"); b != 0 {
		t.Fatalf("read %d after a failure", b)
	}
	r.Fail(errors.New("second"))
	if err := r.End(); err != mine {
		t.Fatalf("want the first problem, got %v", err)
	}
}

// FuzzReader: a sequence of length-prefixed strings is read without a
// panic, and what reads cleanly re-encodes to exactly the input (one
// encoding per value).
func FuzzReader(f *testing.F) {
	f.Add(AppendBytes(AppendBytes(nil, []byte("a")), nil), uint16(8))
	f.Add([]byte{0x80, 0x00}, uint16(8))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, uint16(1024))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, limit uint16) {
		r := NewReader(in, wrapCaller)
		var out []byte
		for r.Err() == nil && r.Remaining() > 0 {
			p := r.Bytes(int(limit), "string")
			if r.Err() == nil {
				if len(p) > int(limit) {
					t.Fatalf("read %d bytes past the limit %d", len(p), limit)
				}
				out = AppendBytes(out, p)
			}
		}
		if err := r.End(); err != nil {
			if !errors.Is(err, errCaller) {
				t.Fatalf("error without the caller's sentinel: %v", err)
			}
			return
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("not canonical: read %x, re-encoded %x", in, out)
		}
	})
}
