package canon

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of a Reader, beneath the caller's own.
var (
	// ErrTruncated: the bytes end inside a field.
	ErrTruncated = errors.New("truncated")
	// ErrVarint: a uvarint does not decode (unterminated, or beyond 64 bits).
	ErrVarint = errors.New("bad uvarint")
	// ErrNonMinimal: a uvarint has a longer encoding than its value needs.
	ErrNonMinimal = errors.New("non-minimal uvarint")
	// ErrTooLong: a length prefix is beyond the field's limit.
	ErrTooLong = errors.New("length beyond its limit")
	// ErrTrailing: bytes follow the last field.
	ErrTrailing = errors.New("trailing bytes")
)

// Reader is a strict cursor over canonical bytes: the first problem sticks
// and every read after it returns the zero value.
type Reader struct {
	b    []byte
	off  int
	err  error
	wrap func(error) error
}

// NewReader returns a Reader of b. wrap (nil: none) is applied to the
// Reader's own errors, so that they carry the caller's sentinel too; errors
// given to Fail are kept as they are.
func NewReader(b []byte, wrap func(error) error) Reader {
	if wrap == nil {
		wrap = func(err error) error { return err }
	}
	return Reader{b: b, wrap: wrap}
}

// Err returns the first problem, or nil.
func (r *Reader) Err() error { return r.err }

// Fail records err (a caller's check of a field) unless a problem was
// recorded before.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *Reader) failf(sentinel error, format string, args ...any) {
	r.Fail(r.wrap(fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)))
}

// Offset returns how many bytes were read.
func (r *Reader) Offset() int { return r.off }

// Remaining returns how many bytes are left to read.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// Fixed reads n bytes (the field what). The result aliases the input.
func (r *Reader) Fixed(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.Remaining() < n {
		r.failf(ErrTruncated, "%s at byte %d: %d bytes wanted, %d left", what, r.off, n, r.Remaining())
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

// Byte reads one byte.
func (r *Reader) Byte(what string) byte {
	if p := r.Fixed(1, what); p != nil {
		return p[0]
	}
	return 0
}

// Uint64 reads a big-endian 64-bit integer.
func (r *Reader) Uint64(what string) uint64 {
	if p := r.Fixed(8, what); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

// Uvarint reads a minimally encoded uvarint.
func (r *Reader) Uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.failf(ErrVarint, "%s at byte %d", what, r.off)
		return 0
	}
	// binary.Uvarint accepts 0x80…0x00 padding; a minimal encoding never
	// ends in a zero byte (but the one-byte zero itself).
	if n > 1 && r.b[r.off+n-1] == 0 {
		r.failf(ErrNonMinimal, "%s at byte %d", what, r.off)
		return 0
	}
	r.off += n
	return v
}

// Bytes reads a uvarint length, at most limit, and that many bytes. The
// result aliases the input.
func (r *Reader) Bytes(limit int, what string) []byte {
	at := r.off
	n := r.Uvarint(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(limit) {
		r.failf(ErrTooLong, "%s of %d bytes at byte %d (limit %d)", what, n, at, limit)
		return nil
	}
	return r.Fixed(int(n), what)
}

// End returns the first problem, or ErrTrailing (wrapped) unless every
// byte was read.
func (r *Reader) End() error {
	if r.err == nil && r.Remaining() != 0 {
		r.failf(ErrTrailing, "%d bytes after the last field", r.Remaining())
	}
	return r.err
}

// AppendUvarint appends v as a minimal uvarint.
func AppendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendBytes appends p's uvarint length and p.
func AppendBytes(b, p []byte) []byte { return append(AppendUvarint(b, uint64(len(p))), p...) }

// AppendUint64 appends v big-endian.
func AppendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
