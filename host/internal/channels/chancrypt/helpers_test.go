package chancrypt

import (
	"bytes"
	"os"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/host/internal/identity"
)

// Fixed identifiers for tests: distinct, non-zero, 32 bytes each.
var (
	testChannel = bytes.Repeat([]byte{0xc1}, IDSize)
	testEpoch   = bytes.Repeat([]byte{0xe2}, IDSize)
	testDigest  = bytes.Repeat([]byte{0xd3}, IDSize)
)

// flip returns a copy of b with byte i XORed with 0x01.
func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}

// identities are made once per test binary: RSA key generation is slow under -race.
var (
	identitiesOnce sync.Once
	identities     map[string]*identity.Identity
	identitiesErr  error
)

// testIdentity returns one of the shared node identities "a", "b", "c"
// (Ed25519) or "rsa" (RSA-2048).
func testIdentity(tb testing.TB, name string) *identity.Identity {
	tb.Helper()
	identitiesOnce.Do(func() {
		identities = map[string]*identity.Identity{}
		dir, err := os.MkdirTemp("", "chancrypt-ids-")
		if err != nil {
			identitiesErr = err
			return
		}
		defer os.RemoveAll(dir)
		for _, n := range []string{"a", "b", "c", "rsa"} {
			kt := identity.KeyEd25519
			if n == "rsa" {
				kt = identity.KeyRSA
			}
			id, err := identity.Create(dir+"/"+n, kt)
			if err != nil {
				identitiesErr = err
				return
			}
			identities[n] = id
		}
	})
	if identitiesErr != nil {
		tb.Fatalf("create test identities: %v", identitiesErr)
	}
	id, ok := identities[name]
	if !ok {
		tb.Fatalf("no test identity %q", name)
	}
	return id
}

// memberOf is the Member a channel log would record for id.
func memberOf(id *identity.Identity) Member {
	return Member{
		NodeID:          id.NodeID,
		NodeKey:         id.Signer.Public(),
		EnvelopePub:     id.EnvelopeKey.PublicKey().Bytes(),
		EnvelopeBinding: bytes.Clone(id.EnvelopeBinding),
	}
}
