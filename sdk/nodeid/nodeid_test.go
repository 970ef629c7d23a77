package nodeid

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestNodeIDMatchesOpenSSL checks the derivation against values computed
// with openssl and sha256sum (testdata/README.md), for both key types.
func TestNodeIDMatchesOpenSSL(t *testing.T) {
	cases := map[string]struct {
		file, nodeID string
	}{
		"ed25519": {"ed25519.pub.pem", "dpc-node-e1f17b8289ab4c4b8ef70076113b9786"},
		"rsa":     {"rsa.pub.pem", "dpc-node-3b477ff4dbf79f24ea9fcb0c65d94b06"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := FromPEM(data); got != tc.nodeID {
				t.Errorf("FromPEM: want %s got %s", tc.nodeID, got)
			}
			block, _ := pem.Decode(data)
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromPublicKey(pub)
			if err != nil || got != tc.nodeID {
				t.Errorf("FromPublicKey: want %s got %s, %v", tc.nodeID, got, err)
			}
			again, err := PublicKeyPEM(pub)
			if err != nil || string(again) != string(data) {
				t.Errorf("PublicKeyPEM is not byte-identical to openssl's output: %q, %v", again, err)
			}
		})
	}
}

func TestVerifyDomainRefusesOtherPurposeAndKey(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	msg, err := DomainMessage("p/v1", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(priv, msg)
	cases := map[string]struct {
		pub     ed25519.PublicKey
		purpose string
		wantErr error
	}{
		"ok":            {pub, "p/v1", nil},
		"other purpose": {pub, "q/v1", ErrBadSignature},
		"other key":     {otherPub, "p/v1", ErrBadSignature},
		"empty purpose": {pub, "", ErrInvalidPurpose},
		"NUL purpose":   {pub, "p\x00", ErrInvalidPurpose},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := VerifyDomain(tc.pub, tc.purpose, []byte("data"), sig)
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Errorf("want %v, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestCheckKeyRefusesUnsupported(t *testing.T) {
	if err := CheckKey("not a key"); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("want ErrUnsupportedKeyType, got %v", err)
	}
	if err := CheckKey(ed25519.PublicKey{1, 2}); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("short Ed25519 key: want ErrUnsupportedKeyType, got %v", err)
	}
}
