package identity

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var keyTypes = map[string]KeyType{"ed25519": KeyEd25519, "rsa": KeyRSA}

func mustCreate(t testing.TB, kt KeyType) (*Identity, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "identity")
	id, err := Create(dir, kt)
	if err != nil {
		t.Fatalf("Create(%q): want no error, got %v", kt, err)
	}
	return id, dir
}

func TestCreateLoadRoundTrip(t *testing.T) {
	for name, kt := range keyTypes {
		t.Run(name, func(t *testing.T) {
			created, dir := mustCreate(t, kt)

			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != 0o700 {
				t.Errorf("dir mode: want 0700 got %04o", got)
			}
			wantModes := map[string]fs.FileMode{NodeKeyFile: 0o600, EnvelopeKeyFile: 0o600, NodeCertFile: 0o644, EnvelopeSigFile: 0o644}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(wantModes) {
				t.Errorf("files: want %d (no temporary files left) got %v", len(wantModes), entries)
			}
			for file, mode := range wantModes {
				st, err := os.Stat(filepath.Join(dir, file))
				if err != nil {
					t.Fatalf("want %s, got %v", file, err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s mode: want %04o got %04o", file, mode, st.Mode().Perm())
				}
			}

			loaded, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: want no error, got %v", err)
			}
			if loaded.NodeID != created.NodeID || !dpcuri.ValidNodeID(loaded.NodeID) {
				t.Errorf("node_id: want %s (valid) got %s", created.NodeID, loaded.NodeID)
			}
			if loaded.KeyType != kt {
				t.Errorf("key type: want %q got %q", kt, loaded.KeyType)
			}
			if !bytes.Equal(loaded.Certificate.Raw, created.Certificate.Raw) || !bytes.Equal(loaded.CertificatePEM, created.CertificatePEM) {
				t.Errorf("certificate: want the created one got a different one")
			}
			if !bytes.Equal(loaded.PublicKeyPEM, created.PublicKeyPEM) {
				t.Errorf("public key PEM: want %q got %q", created.PublicKeyPEM, loaded.PublicKeyPEM)
			}
			if !loaded.EnvelopeKey.Equal(created.EnvelopeKey) || !bytes.Equal(loaded.EnvelopeBinding, created.EnvelopeBinding) {
				t.Errorf("envelope key/binding: want the created ones got different ones")
			}
			if loaded.Fingerprint() != created.Fingerprint() || len(strings.Fields(loaded.Fingerprint())) != 12 {
				t.Errorf("fingerprint: want %q (12 groups) got %q", created.Fingerprint(), loaded.Fingerprint())
			}
			pub, ok := loaded.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
			if !ok || !pub.Equal(created.Signer.Public()) {
				t.Errorf("signer: want the created key got another")
			}
			checkCertificate(t, loaded, kt)
		})
	}
}

func checkCertificate(t *testing.T, id *Identity, kt KeyType) {
	t.Helper()
	c := id.Certificate
	if c.Subject.CommonName != id.NodeID || c.Issuer.CommonName != id.NodeID {
		t.Errorf("CN: want %s got subject %q issuer %q", id.NodeID, c.Subject.CommonName, c.Issuer.CommonName)
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		t.Errorf("basic constraints: want CA=true got valid=%v CA=%v", c.BasicConstraintsValid, c.IsCA)
	}
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign; c.KeyUsage != want {
		t.Errorf("key usage: want %v got %v", want, c.KeyUsage)
	}
	if len(c.ExtKeyUsage) != 2 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || c.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth {
		t.Errorf("ext key usage: want [ServerAuth ClientAuth] got %v", c.ExtKeyUsage)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial: want positive, at most 128 bits got %v", c.SerialNumber)
	}
	validity := c.NotAfter.Sub(c.NotBefore)
	if validity < 3650*24*time.Hour || validity > 3651*24*time.Hour {
		t.Errorf("validity: want ~3650 days got %v", validity)
	}
	if time.Now().Before(c.NotBefore) || time.Now().After(c.NotAfter) {
		t.Errorf("validity: want now inside [%v, %v]", c.NotBefore, c.NotAfter)
	}
	wantAlg := map[KeyType]x509.SignatureAlgorithm{KeyEd25519: x509.PureEd25519, KeyRSA: x509.SHA256WithRSA}[kt]
	if c.SignatureAlgorithm != wantAlg {
		t.Errorf("signature algorithm: want %v got %v", wantAlg, c.SignatureAlgorithm)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("self-signature: want valid got %v", err)
	}
	if kt == KeyRSA {
		pub := c.PublicKey.(*rsa.PublicKey)
		if pub.N.BitLen() != 2048 || pub.E != 65537 {
			t.Errorf("RSA key: want 2048 bits e=65537 got %d bits e=%d", pub.N.BitLen(), pub.E)
		}
	}
}

func TestCreateRefusesExistingIdentity(t *testing.T) {
	created, dir := mustCreate(t, KeyEd25519)
	before, err := os.ReadFile(filepath.Join(dir, NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Create(dir, KeyEd25519)
	if !errors.Is(err, ErrIdentityExists) {
		t.Fatalf("want ErrIdentityExists got %v", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("node.key: want unchanged got rewritten")
	}
	loaded, err := Load(dir)
	if err != nil || loaded.NodeID != created.NodeID {
		t.Errorf("Load after refused Create: want %s got %v, %v", created.NodeID, loaded, err)
	}
}

func TestCreateUnsupportedKeyType(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "identity")
	_, err := Create(dir, "ecdsa")
	if !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("want ErrUnsupportedKeyType got %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("want no directory created got %v", err)
	}
}

func TestCreateDefaultsToEd25519(t *testing.T) {
	id, _ := mustCreate(t, "")
	if id.KeyType != KeyEd25519 {
		t.Errorf("want %q got %q", KeyEd25519, id.KeyType)
	}
}

// TestNodeIDMatchesOpenSSL checks the node_id derivation against the real
// openssl binary: sha256 of `openssl x509 -pubkey -noout -in node.crt`.
func TestNodeIDMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for name, kt := range keyTypes {
		t.Run(name, func(t *testing.T) {
			id, dir := mustCreate(t, kt)
			out, err := exec.Command("openssl", "x509", "-pubkey", "-noout", "-in", filepath.Join(dir, NodeCertFile)).Output()
			if err != nil {
				t.Fatalf("openssl x509: %v", err)
			}
			sum := sha256.Sum256(out)
			want := "dpc-node-" + hex.EncodeToString(sum[:])[:32]
			if id.NodeID != want {
				t.Errorf("node_id: want %s (openssl) got %s", want, id.NodeID)
			}
			if !bytes.Equal(id.PublicKeyPEM, out) {
				t.Errorf("PublicKeyPEM: want %q got %q", out, id.PublicKeyPEM)
			}
			fromCert, err := NodeIDFromCertificate(id.Certificate)
			if err != nil || fromCert != want {
				t.Errorf("NodeIDFromCertificate: want %s got %s, %v", want, fromCert, err)
			}
			// openssl must read the private key files as PKCS#8 too, and
			// node.key's public half must print the same PEM.
			keyOut, err := exec.Command("openssl", "pkey", "-in", filepath.Join(dir, NodeKeyFile), "-pubout").Output()
			if err != nil {
				t.Fatalf("openssl pkey node.key: %v", err)
			}
			if !bytes.Equal(keyOut, out) {
				t.Errorf("openssl pkey -pubout: want %q got %q", out, keyOut)
			}
			if err := exec.Command("openssl", "pkey", "-in", filepath.Join(dir, EnvelopeKeyFile), "-noout").Run(); err != nil {
				t.Errorf("openssl pkey envelope.key: want readable got %v", err)
			}
			text, err := exec.Command("openssl", "x509", "-noout", "-subject", "-issuer", "-in", filepath.Join(dir, NodeCertFile)).Output()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(text), "CN = "+id.NodeID) != 2 && strings.Count(string(text), "CN="+id.NodeID) != 2 {
				t.Errorf("openssl subject/issuer: want CN %s twice got %q", id.NodeID, text)
			}
		})
	}
}

func TestNodeIDFromPublicKeyUnsupported(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]crypto.PublicKey{
		"nil":            nil,
		"rsa 1024":       &small.PublicKey,
		"short ed25519":  ed25519.PublicKey{1, 2, 3},
		"string":         "dpc-node-0",
		"nil rsa":        (*rsa.PublicKey)(nil),
		"nil cert/other": struct{}{},
	}
	for name, pub := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NodeIDFromPublicKey(pub); !errors.Is(err, ErrUnsupportedKeyType) {
				t.Errorf("want ErrUnsupportedKeyType got %v", err)
			}
		})
	}
	if _, err := NodeIDFromCertificate(nil); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("nil certificate: want ErrUnsupportedKeyType got %v", err)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "identity")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadErrors(t *testing.T) {
	_, good := mustCreate(t, KeyEd25519)
	_, other := mustCreate(t, KeyEd25519)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, err := x509.MarshalPKCS8PrivateKey(small)
	if err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		setup    func(t *testing.T, dir string) string // returns the dir to load
		wantErr  error
		wantText []string // substrings the message must contain
	}{
		"missing dir": {
			setup:    func(t *testing.T, dir string) string { return filepath.Join(dir, "nope") },
			wantErr:  ErrNoIdentity,
			wantText: []string{"dpc init", NodeKeyFile},
		},
		"empty dir": {
			setup:    func(t *testing.T, dir string) string { return t.TempDir() },
			wantErr:  ErrNoIdentity,
			wantText: []string{"dpc init"},
		},
		"truncated key": {
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, NodeKeyFile)
				data := readFileT(t, p)
				writeFile(t, p, data[:len(data)/2])
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeKeyFile, "NEW identity", "truncated"},
		},
		"empty key": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, NodeKeyFile), nil)
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeKeyFile},
		},
		"garbage key": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, NodeKeyFile), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeKeyFile, "PKCS#8"},
		},
		"key of wrong PEM type": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, NodeKeyFile), readFileT(t, filepath.Join(dir, NodeCertFile)))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeKeyFile, `"CERTIFICATE"`},
		},
		"rsa 1024 key": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, NodeKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: smallDER}))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeKeyFile, "1024 bits"},
		},
		"cert from another key": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, NodeCertFile), readFileT(t, filepath.Join(other, NodeCertFile)))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeCertFile, "different key"},
		},
		"cert with wrong CN": {
			setup: func(t *testing.T, dir string) string {
				id, err := Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				der, err := createCertificate(id.Signer, "dpc-node-00000000000000000000000000000000", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, NodeCertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeCertFile, "CN"},
		},
		"missing cert": {
			setup: func(t *testing.T, dir string) string {
				if err := os.Remove(filepath.Join(dir, NodeCertFile)); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{NodeCertFile, "missing"},
		},
		"envelope key from another identity": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, EnvelopeKeyFile), readFileT(t, filepath.Join(other, EnvelopeKeyFile)))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{EnvelopeSigFile},
		},
		"envelope binding from another identity": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, EnvelopeSigFile), readFileT(t, filepath.Join(other, EnvelopeSigFile)))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{EnvelopeSigFile},
		},
		"flipped bit in envelope binding": {
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, EnvelopeSigFile)
				data := readFileT(t, p)
				data[0] ^= 1
				writeFile(t, p, data)
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{EnvelopeSigFile},
		},
		"node key as envelope key": {
			setup: func(t *testing.T, dir string) string {
				writeFile(t, filepath.Join(dir, EnvelopeKeyFile), readFileT(t, filepath.Join(dir, NodeKeyFile)))
				return dir
			},
			wantErr:  ErrCorruptKey,
			wantText: []string{EnvelopeKeyFile, "X25519"},
		},
		"group-readable key": {
			setup: func(t *testing.T, dir string) string {
				if err := os.Chmod(filepath.Join(dir, NodeKeyFile), 0o640); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr:  ErrInsecureKeyFile,
			wantText: []string{"chmod 600 ", NodeKeyFile},
		},
		"world-readable envelope key": {
			setup: func(t *testing.T, dir string) string {
				if err := os.Chmod(filepath.Join(dir, EnvelopeKeyFile), 0o604); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr:  ErrInsecureKeyFile,
			wantText: []string{"chmod 600", EnvelopeKeyFile},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := tc.setup(t, copyDir(t, good))
			id, err := Load(dir)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v got %v (identity %v)", tc.wantErr, err, id)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message: want it to contain %q got %q", s, err)
				}
			}
			// Load must never create an identity.
			if tc.wantErr == ErrNoIdentity {
				if _, err := os.Stat(filepath.Join(dir, NodeKeyFile)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("node.key after failed Load: want none got %v", err)
				}
			}
		})
	}
}

func TestSignVerifyDomain(t *testing.T) {
	for name, kt := range keyTypes {
		t.Run(name, func(t *testing.T) {
			id, _ := mustCreate(t, kt)
			other, _ := mustCreate(t, KeyEd25519)
			pub := id.Signer.Public()
			data := []byte("challenge-nonce-1234")

			sig, alg, signed, err := id.SignDomain("hub-login", data)
			if err != nil {
				t.Fatalf("SignDomain: want no error got %v", err)
			}
			wantAlg := map[KeyType]string{KeyEd25519: AlgEd25519, KeyRSA: AlgRSAPSSSHA256}[kt]
			if alg != wantAlg {
				t.Errorf("algorithm: want %q got %q", wantAlg, alg)
			}
			wantSigned := []byte("dpc-plugin-signature/v1\x00hub-login\x00challenge-nonce-1234")
			if !bytes.Equal(signed, wantSigned) {
				t.Errorf("signed bytes: want %q got %q", wantSigned, signed)
			}
			// Independent verification with the standard library.
			switch k := pub.(type) {
			case ed25519.PublicKey:
				if !ed25519.Verify(k, wantSigned, sig) {
					t.Errorf("ed25519.Verify: want valid got invalid")
				}
			case *rsa.PublicKey:
				digest := sha256.Sum256(wantSigned)
				if err := rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
					t.Errorf("rsa.VerifyPSS(salt 32): want valid got %v", err)
				}
			}

			verify := map[string]struct {
				pub     crypto.PublicKey
				purpose string
				data    []byte
				sig     []byte
				wantErr error
			}{
				"same purpose and data": {pub, "hub-login", data, sig, nil},
				"other purpose":         {pub, "hub-logout", data, sig, ErrBadSignature},
				"purpose prefix":        {pub, "hub-logi", append([]byte("n\x00"), data...), sig, ErrBadSignature},
				"other data":            {pub, "hub-login", []byte("challenge-nonce-1235"), sig, ErrBadSignature},
				"other key":             {other.Signer.Public(), "hub-login", data, sig, ErrBadSignature},
				"truncated signature":   {pub, "hub-login", data, sig[:len(sig)-1], ErrBadSignature},
				"empty purpose":         {pub, "", data, sig, ErrInvalidPurpose},
				"NUL in purpose":        {pub, "hub\x00login", data, sig, ErrInvalidPurpose},
				"unsupported key":       {"not a key", "hub-login", data, sig, ErrUnsupportedKeyType},
			}
			for vname, vc := range verify {
				t.Run(vname, func(t *testing.T) {
					err := VerifyDomain(vc.pub, vc.purpose, vc.data, vc.sig)
					if vc.wantErr == nil && err != nil || vc.wantErr != nil && !errors.Is(err, vc.wantErr) {
						t.Errorf("want %v got %v", vc.wantErr, err)
					}
				})
			}

			for _, bad := range []string{"", "a\x00b"} {
				if _, _, _, err := id.SignDomain(bad, data); !errors.Is(err, ErrInvalidPurpose) {
					t.Errorf("SignDomain(%q): want ErrInvalidPurpose got %v", bad, err)
				}
			}
			// The envelope binding must not pass as a domain signature.
			if err := VerifyDomain(pub, "x", nil, id.EnvelopeBinding); !errors.Is(err, ErrBadSignature) {
				t.Errorf("binding as domain signature: want ErrBadSignature got %v", err)
			}
		})
	}
}

func TestVerifyEnvelopeBinding(t *testing.T) {
	id, _ := mustCreate(t, KeyEd25519)
	other, _ := mustCreate(t, KeyEd25519)
	pub := id.Signer.Public()
	envPub := id.EnvelopeKey.PublicKey().Bytes()
	tests := map[string]struct {
		nodeID  string
		pub     crypto.PublicKey
		envPub  []byte
		sig     []byte
		wantErr error
	}{
		"valid":                {id.NodeID, pub, envPub, id.EnvelopeBinding, nil},
		"other node_id":        {other.NodeID, pub, envPub, id.EnvelopeBinding, ErrNodeIDMismatch},
		"other key, its id":    {other.NodeID, other.Signer.Public(), envPub, id.EnvelopeBinding, ErrBadSignature},
		"other envelope key":   {id.NodeID, pub, other.EnvelopeKey.PublicKey().Bytes(), id.EnvelopeBinding, ErrBadSignature},
		"short envelope key":   {id.NodeID, pub, envPub[:31], id.EnvelopeBinding, ErrBadSignature},
		"other binding":        {id.NodeID, pub, envPub, other.EnvelopeBinding, ErrBadSignature},
		"empty signature":      {id.NodeID, pub, envPub, nil, ErrBadSignature},
		"unsupported key type": {id.NodeID, 42, envPub, id.EnvelopeBinding, ErrUnsupportedKeyType},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := VerifyEnvelopeBinding(tc.nodeID, tc.pub, tc.envPub, tc.sig)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("want %v got %v", tc.wantErr, err)
			}
		})
	}
}

// TestTLSCertificate runs a mutual TLS 1.3 handshake with node certificates
// and checks that each side derives the other's node_id from the certificate.
func TestTLSCertificate(t *testing.T) {
	for name, kt := range keyTypes {
		t.Run(name, func(t *testing.T) {
			server, _ := mustCreate(t, kt)
			client, _ := mustCreate(t, KeyEd25519)
			pin := func(want string) func([][]byte, [][]*x509.Certificate) error {
				return func(raw [][]byte, _ [][]*x509.Certificate) error {
					if len(raw) != 1 {
						return fmt.Errorf("want 1 certificate got %d", len(raw))
					}
					cert, err := x509.ParseCertificate(raw[0])
					if err != nil {
						return err
					}
					got, err := NodeIDFromCertificate(cert)
					if err != nil {
						return err
					}
					if got != want {
						return fmt.Errorf("peer node_id: want %s got %s", want, got)
					}
					return nil
				}
			}
			sc := &tls.Config{
				MinVersion:            tls.VersionTLS13,
				Certificates:          []tls.Certificate{server.TLSCertificate()},
				ClientAuth:            tls.RequireAnyClientCert,
				VerifyPeerCertificate: pin(client.NodeID),
			}
			cc := &tls.Config{
				MinVersion:            tls.VersionTLS13,
				Certificates:          []tls.Certificate{client.TLSCertificate()},
				InsecureSkipVerify:    true, // pinned by node_id below
				VerifyPeerCertificate: pin(server.NodeID),
			}
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			errc := make(chan error, 1)
			go func() { errc <- tls.Server(a, sc).Handshake() }()
			if err := tls.Client(b, cc).Handshake(); err != nil {
				t.Fatalf("client handshake: want no error got %v", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("server handshake: want no error got %v", err)
			}
		})
	}
}

func TestIdentityFormattingHidesKeys(t *testing.T) {
	id, _ := mustCreate(t, KeyEd25519)
	priv := hex.EncodeToString(id.Signer.(ed25519.PrivateKey).Seed())
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		for _, v := range []any{id, *id} {
			got := fmt.Sprintf(format, v)
			if !strings.Contains(got, id.NodeID) && format != "%x" || strings.Contains(got, priv) || len(got) > 200 {
				t.Errorf("%s: want only the node_id got %q", format, got)
			}
		}
	}
}

func TestFingerprintFormat(t *testing.T) {
	id, _ := mustCreate(t, KeyEd25519)
	fp := id.Fingerprint()
	groups := strings.Split(fp, " ")
	if len(groups) != 12 {
		t.Fatalf("want 12 groups got %d in %q", len(groups), fp)
	}
	for _, g := range groups {
		n, ok := new(big.Int).SetString(g, 10)
		if len(g) != 5 || !ok || n.Sign() < 0 {
			t.Errorf("group %q: want 5 digits", g)
		}
	}
	if _, err := FingerprintOf("nope"); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("FingerprintOf(string): want ErrUnsupportedKeyType got %v", err)
	}
}

// FuzzLoadKeyFile feeds arbitrary bytes as the content of node.key, next to
// a valid certificate, envelope key and binding: loading must return
// ErrCorruptKey (never panic), and can only succeed for bytes that encode the
// very same key. The fuzz body runs the code Load runs after reading the
// files (assemble), because rewriting a file per input makes ext4 flush on
// every close and starves the fuzzer; the seeds also go through Load itself.
func FuzzLoadKeyFile(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "identity")
	id, err := Create(dir, KeyEd25519)
	if err != nil {
		f.Fatal(err)
	}
	keyPath := filepath.Join(dir, NodeKeyFile)
	good, err := os.ReadFile(keyPath)
	if err != nil {
		f.Fatal(err)
	}
	certPEM := id.CertificatePEM
	envPEM, err := os.ReadFile(filepath.Join(dir, EnvelopeKeyFile))
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{
		good,
		good[:len(good)/2],
		{},
		[]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"),
		readFixture(f, "rsa.key"),
		readFixture(f, "ed25519.key"),
		id.CertificatePEM,
		envPEM,
	}
	for _, seed := range seeds {
		f.Add(seed)
	}

	check := func(t *testing.T, got *Identity, err error) {
		t.Helper()
		if err == nil {
			if got.NodeID != id.NodeID {
				t.Fatalf("accepted a different key: want %s got %s", id.NodeID, got.NodeID)
			}
			return
		}
		if !errors.Is(err, ErrCorruptKey) {
			t.Fatalf("want ErrCorruptKey got %v", err)
		}
	}
	// The seeds through the real file path.
	for i, seed := range seeds {
		sub := filepath.Join(f.TempDir(), fmt.Sprint(i))
		if err := os.CopyFS(sub, os.DirFS(dir)); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, NodeKeyFile), seed, 0o600); err != nil {
			f.Fatal(err)
		}
		for _, name := range []string{NodeKeyFile, EnvelopeKeyFile} {
			if err := os.Chmod(filepath.Join(sub, name), 0o600); err != nil {
				f.Fatal(err)
			}
		}
		got, err := Load(sub)
		if err == nil && got.NodeID != id.NodeID || err != nil && !errors.Is(err, ErrCorruptKey) {
			f.Fatalf("seed %d via Load: want ErrCorruptKey or the same identity got %v, %v", i, got, err)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := assemble(dir, data, certPEM, envPEM, id.EnvelopeBinding)
		check(t, got, err)
	})
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
