package chancrypt

// One test per flaw of DMPC (dmpc-facts.md §3 and §9) that applies to the
// channel cryptography. Each would fail on DMPC's behaviour.

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoNonceReuse: DMPC sealed its challenge and payload under one key and
// one nonce. Here every seal draws a fresh nonce: two seals of one
// plaintext under one key differ, and nonces are unique over many seals.
// Two wraps of one key to one member differ too (fresh HPKE ephemeral key).
func TestNoNonceReuse(t *testing.T) {
	key := NewKey()
	pt := []byte("the same plaintext")
	a, err := Seal(key, testChannel, testEpoch, testDigest, pt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(key, testChannel, testEpoch, testDigest, pt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one plaintext under one key are equal")
	}
	if bytes.Equal(a[:NonceSize], b[:NonceSize]) {
		t.Fatal("two seals used the same nonce")
	}
	if bytes.Equal(a[NonceSize:NonceSize+len(pt)], b[NonceSize:NonceSize+len(pt)]) {
		t.Fatal("two seals have the same keystream (ciphertext XOR would leak the plaintexts' XOR)")
	}

	const n = 20000
	seen := make(map[[NonceSize]byte]struct{}, n)
	for i := range n {
		s, err := Seal(key, testChannel, testEpoch, testDigest, pt)
		if err != nil {
			t.Fatal(err)
		}
		nonce := [NonceSize]byte(s[:NonceSize])
		if _, dup := seen[nonce]; dup {
			t.Fatalf("nonce reused at seal %d", i)
		}
		seen[nonce] = struct{}{}
	}

	m := testIdentity(t, "b")
	w1, err := WrapToMember(key, memberOf(m), testChannel, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := WrapToMember(key, memberOf(m), testChannel, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(w1[:EncSize], w2[:EncSize]) || bytes.Equal(w1, w2) {
		t.Fatal("two wraps of one key to one member share the HPKE encapsulation")
	}
}

// TestNoRSAPKCS1v15KeyWrapping: DMPC wrapped keys with RSA PKCS#1 v1.5
// encryption (a padding oracle). Here no code of the package touches RSA
// encryption at all, and even a member whose node key is RSA gets its key
// wrapped with HPKE to its X25519 envelope key: 80 bytes starting with an
// X25519 point, not a 256-byte RSA block.
func TestNoRSAPKCS1v15KeyWrapping(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "crypto/rsa" {
				t.Errorf("%s imports crypto/rsa: channel keys must never be RSA-wrapped", f)
			}
		}
		full, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(full, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && (strings.Contains(id.Name, "PKCS1v15") || strings.Contains(id.Name, "OAEP")) {
				t.Errorf("%s: uses %s", fset.Position(id.Pos()), id.Name)
			}
			return true
		})
		checked++
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}

	rsaMember := testIdentity(t, "rsa")
	key := NewKey()
	wrapped, err := WrapToMember(key, memberOf(rsaMember), testChannel, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != WrappedSize {
		t.Fatalf("wrapped key for an RSA member: want %d bytes (HPKE), got %d", WrappedSize, len(wrapped))
	}
	if _, err := ecdh.X25519().NewPublicKey(wrapped[:EncSize]); err != nil {
		t.Fatalf("wrapped key does not start with an X25519 encapsulation: %v", err)
	}
	got, err := Unwrap(wrapped, rsaMember.EnvelopeKey, testChannel, testEpoch, rsaMember.NodeID)
	if err != nil || !got.Equal(key) {
		t.Fatalf("RSA member unwraps with its envelope key: want the key, got %v", err)
	}
}

// TestWrappedKeyForBCannotBeUnwrappedByC: DMPC sent the channel key in the
// open payload to everyone the transaction reached. Here a key wrapped for
// B opens only with B's envelope key, and C cannot open it, neither as
// itself nor claiming to be B.
func TestWrappedKeyForBCannotBeUnwrappedByC(t *testing.T) {
	b, c := testIdentity(t, "b"), testIdentity(t, "c")
	key := NewKey()
	forB, err := WrapToMember(key, memberOf(b), testChannel, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	for _, claim := range []string{c.NodeID, b.NodeID} {
		if k, err := Unwrap(forB, c.EnvelopeKey, testChannel, testEpoch, claim); !errors.Is(err, ErrUnwrap) || !k.IsZero() {
			t.Fatalf("C unwrapped B's key (claiming %s): err %v", claim, err)
		}
	}
	if k, err := Unwrap(forB, b.EnvelopeKey, testChannel, testEpoch, b.NodeID); err != nil || !k.Equal(key) {
		t.Fatalf("B unwraps its own key: %v", err)
	}
}

// TestMetadataBoundToCiphertext: DMPC sealed bodies with empty AAD, so a
// ciphertext could be moved to another channel or key id. Here changing any
// single byte of the channel id, the epoch id or the header digest makes
// Open fail.
func TestMetadataBoundToCiphertext(t *testing.T) {
	key := NewKey()
	sealed, err := Seal(key, testChannel, testEpoch, testDigest, []byte("bound"))
	if err != nil {
		t.Fatal(err)
	}
	fields := []struct {
		name  string
		field []byte
	}{{"channel", testChannel}, {"epoch", testEpoch}, {"header digest", testDigest}}
	for fi, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			for i := range f.field {
				ids := [][]byte{testChannel, testEpoch, testDigest}
				ids[fi] = flip(f.field, i)
				if _, err := Open(key, ids[0], ids[1], ids[2], sealed); !errors.Is(err, ErrOpen) {
					t.Fatalf("%s byte %d changed: want ErrOpen, got %v", f.name, i, err)
				}
			}
		})
	}
}
