package chanstate

import (
	"math/bits"
	"unsafe"
)

// bitset is an immutable set of small integers (control op indexes, or
// entry sequence numbers). Missing words are zero, so sets made before
// more control ops arrived stay valid.
type bitset []uint64

func (b bitset) has(i int32) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// with returns a copy of b with i set.
func (b bitset) with(i int32) bitset {
	n := max(len(b), int(i>>6)+1)
	c := make(bitset, n)
	copy(c, b)
	c[i>>6] |= 1 << (uint(i) & 63)
	return c
}

// union returns a new set holding both.
func (b bitset) union(o bitset) bitset {
	if len(o) > len(b) {
		b, o = o, b
	}
	c := make(bitset, len(b))
	copy(c, b)
	for i, w := range o {
		c[i] |= w
	}
	return c
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// key is a map key for interning: the words as a string, trailing zeros trimmed.
func (b bitset) key() string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b)*8))
}

// past is an interned control past: the set of control ops that are
// ancestors of an op. Ops with the same control past share one *past, and
// resolution caches the state of each past on it.
type past struct {
	set bitset
	// gen and st cache the control state of this past for resolution gen.
	gen uint64
	st  *cstate
}
