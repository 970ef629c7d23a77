package channels

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/store"
)

// TestEpochKeysSealedAtRest: an epoch key is never written raw; it opens
// with the node's own at-rest key only, and under its own channel and
// epoch only (a record moved to another key name does not open).
func TestEpochKeysSealedAtRest(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	priv := func() []byte {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k.Bytes()
	}
	mine, err := newChanStore(st, newWriter(st.SetMany, func(network.Event) {}, func(f func()) { go f() }, hclog.NewNullLogger()), priv())
	if err != nil {
		t.Fatal(err)
	}
	var ch, ep, other chanop.ID
	ch[0], ep[0], other[0] = 1, 2, 3
	key := chancrypt.NewKey()
	if err := mine.putKey(ch, ep, key); err != nil {
		t.Fatal(err)
	}
	err = st.Iterate([]byte("chankey/"), func(_, v []byte) error {
		if bytes.Contains(v, key.Bytes()) {
			t.Error("the raw epoch key is in the store")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, bad, err := mine.keys(ch)
	if err != nil || !got[ep].Equal(key) || len(bad) != 0 {
		t.Fatalf("the node's own store: keys %v, err %v", got, err)
	}

	theirs, err := newChanStore(st, newWriter(st.SetMany, func(network.Event) {}, func(f func()) { go f() }, hclog.NewNullLogger()), priv())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := st.Get(epochKey(ch, ep))
	if err != nil {
		t.Fatal(err)
	}
	var c2 chanop.ID
	c2[0] = 9
	for name, tc := range map[string]struct {
		s      *chanStore
		ch, ep chanop.ID
	}{
		"another node's at-rest key": {s: theirs, ch: ch, ep: ep},
		"moved to another epoch":     {s: mine, ch: ch, ep: other},
		"moved to another channel":   {s: mine, ch: c2, ep: ep},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.ch != ch || tc.ep != ep {
				if err := st.Set(epochKey(tc.ch, tc.ep), sealed); err != nil {
					t.Fatal(err)
				}
				defer st.Delete(epochKey(tc.ch, tc.ep))
			}
			got, bad, err := tc.s.keys(tc.ch)
			if _, opened := got[tc.ep]; err != nil || len(bad) != 1 || bad[0].record != string(epochKey(tc.ch, tc.ep)) || opened {
				t.Fatalf("a sealed key opened where it must not: keys %v, bad %v, err %v", got, bad, err)
			}
		})
	}
}
