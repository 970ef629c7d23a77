package identity

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/dpc-go/dpc/sdk/nodeid"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// KeyType names the algorithm of the node key.
type KeyType string

// Supported node key types.
const (
	// KeyEd25519 is the default node key type.
	KeyEd25519 KeyType = "ed25519"
	// KeyRSA is an RSA-2048 key (e=65537), for talking to D-PC Messenger nodes.
	KeyRSA KeyType = "rsa"
)

// File names inside the identity directory.
const (
	NodeKeyFile     = "node.key"
	NodeCertFile    = "node.crt"
	EnvelopeKeyFile = "envelope.key"
	EnvelopeSigFile = "envelope.sig"
)

const (
	// rsaBits is the size of generated RSA keys.
	rsaBits = 2048
	// certValidity is the lifetime of a generated certificate (D-PC: 3650 days).
	certValidity = 3650 * 24 * time.Hour
	// certBackdate tolerates peers whose clocks are a little behind.
	certBackdate = time.Hour
	// maxFileSize bounds how much of an identity file Load reads.
	maxFileSize = 64 << 10
)

// Identity is a loaded node identity. The private keys in it must never leave
// the host process; String and GoString print only the node_id so that an
// Identity that ends up in a log line does not leak them.
type Identity struct {
	// NodeID is "dpc-node-" + 32 lower-case hex characters.
	NodeID string
	// KeyType is the algorithm of the node key.
	KeyType KeyType
	// Signer is the node private key; never exported outside the host.
	Signer crypto.Signer
	// Certificate is the self-signed node certificate (CN = NodeID).
	Certificate *x509.Certificate
	// CertificatePEM is the PEM text of Certificate, as stored in node.crt.
	CertificatePEM []byte
	// PublicKeyPEM is the exact SubjectPublicKeyInfo PEM the NodeID hashes.
	PublicKeyPEM []byte
	// EnvelopeKey is the X25519 key for sealed envelopes.
	EnvelopeKey *ecdh.PrivateKey
	// EnvelopeBinding is the node key's signature over the envelope public key.
	EnvelopeBinding []byte
}

// String returns a description that contains no key material.
func (id Identity) String() string { return "identity(" + id.NodeID + ")" }

// GoString returns a description that contains no key material.
func (id Identity) GoString() string {
	return "identity.Identity{NodeID: " + fmt.Sprintf("%q", id.NodeID) + "}"
}

// Create generates a new identity of type kt ("" means Ed25519) in dir and
// writes it. It refuses with ErrIdentityExists when dir already holds a
// node.key. dir is created with mode 0700 if missing.
func Create(dir string, kt KeyType) (*Identity, error) {
	if kt == "" {
		kt = KeyEd25519
	}
	if kt != KeyEd25519 && kt != KeyRSA {
		return nil, fmt.Errorf("create identity: %w: %q (want %q or %q)", ErrUnsupportedKeyType, kt, KeyEd25519, KeyRSA)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create identity directory: %w", err)
	}
	keyPath := filepath.Join(dir, NodeKeyFile)
	if _, err := os.Lstat(keyPath); err == nil {
		return nil, existsError(keyPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("create identity: %w", err)
	}

	signer, err := generateKey(kt)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, fmt.Errorf("encode node key: %w", err)
	}
	nodeID, err := NodeIDFromPublicKey(signer.Public())
	if err != nil {
		return nil, err
	}
	certDER, err := createCertificate(signer, nodeID, time.Now())
	if err != nil {
		return nil, err
	}
	envKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate envelope key: %w", err)
	}
	envDER, err := x509.MarshalPKCS8PrivateKey(envKey)
	if err != nil {
		return nil, fmt.Errorf("encode envelope key: %w", err)
	}
	binding, _, err := signMessage(signer, envelopeMessage(nodeID, envKey.PublicKey().Bytes()))
	if err != nil {
		return nil, fmt.Errorf("sign envelope key: %w", err)
	}

	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	envPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: envDER})

	// Assemble from the encoded bytes, exactly as Load would, so a bug in
	// encoding shows up here and not on the next start.
	id, err := assemble(dir, keyPEM, certPEM, envPEM, binding)
	if err != nil {
		return nil, fmt.Errorf("create identity: self-check failed: %w", err)
	}

	// node.key goes last: its presence means the identity is complete.
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{NodeCertFile, certPEM, 0o644},
		{EnvelopeKeyFile, envPEM, 0o600},
		{EnvelopeSigFile, binding, 0o644},
	}
	for _, f := range files {
		if err := writeFileAtomic(dir, f.name, f.data, f.perm, false); err != nil {
			return nil, err
		}
	}
	if err := writeFileAtomic(dir, NodeKeyFile, keyPEM, 0o600, true); err != nil {
		return nil, err
	}
	return id, nil
}

// Load reads the identity stored in dir. It never creates one: a missing
// node.key gives ErrNoIdentity, an unreadable or inconsistent file gives
// ErrCorruptKey, and a private key file readable by group or others gives
// ErrInsecureKeyFile.
func Load(dir string) (*Identity, error) {
	keyPath := filepath.Join(dir, NodeKeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist; run `dpc init` to create a node identity (or restore %s from a backup)", ErrNoIdentity, keyPath, dir)
	}
	keyPEM, err := readPrivateFile(keyPath)
	if err != nil {
		return nil, err
	}
	certPEM, err := readFile(filepath.Join(dir, NodeCertFile))
	if err != nil {
		return nil, err
	}
	envPEM, err := readPrivateFile(filepath.Join(dir, EnvelopeKeyFile))
	if err != nil {
		return nil, err
	}
	sig, err := readFile(filepath.Join(dir, EnvelopeSigFile))
	if err != nil {
		return nil, err
	}
	return assemble(dir, keyPEM, certPEM, envPEM, sig)
}

// assemble parses and cross-checks the four identity files.
func assemble(dir string, keyPEM, certPEM, envPEM, sig []byte) (*Identity, error) {
	keyPath := filepath.Join(dir, NodeKeyFile)
	certPath := filepath.Join(dir, NodeCertFile)
	envPath := filepath.Join(dir, EnvelopeKeyFile)
	sigPath := filepath.Join(dir, EnvelopeSigFile)

	signer, kt, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, corrupt(keyPath, err)
	}
	pub := signer.Public()
	pubPEM, err := nodeid.PublicKeyPEM(pub)
	if err != nil {
		return nil, corrupt(keyPath, err)
	}
	nodeID := nodeid.FromPEM(pubPEM)

	cert, err := parseCertificatePEM(certPEM)
	if err != nil {
		return nil, corrupt(certPath, err)
	}
	certPub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !certPub.Equal(pub) {
		return nil, corrupt(certPath, errors.New("the certificate is for a different key than "+NodeKeyFile))
	}
	if cert.Subject.CommonName != nodeID || cert.Issuer.CommonName != nodeID {
		return nil, corrupt(certPath, fmt.Errorf("certificate subject CN %q / issuer CN %q, want the node_id %q derived from %s",
			cert.Subject.CommonName, cert.Issuer.CommonName, nodeID, NodeKeyFile))
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, corrupt(certPath, fmt.Errorf("self-signature does not verify: %w", err))
	}

	envKey, err := parseEnvelopeKeyPEM(envPEM)
	if err != nil {
		return nil, corrupt(envPath, err)
	}
	if err := VerifyEnvelopeBinding(nodeID, pub, envKey.PublicKey().Bytes(), sig); err != nil {
		return nil, corrupt(sigPath, fmt.Errorf("it does not bind %s to this node key: %w", EnvelopeKeyFile, err))
	}

	return &Identity{
		NodeID:          nodeID,
		KeyType:         kt,
		Signer:          signer,
		Certificate:     cert,
		CertificatePEM:  bytes.Clone(certPEM),
		PublicKeyPEM:    pubPEM,
		EnvelopeKey:     envKey,
		EnvelopeBinding: bytes.Clone(sig),
	}, nil
}

// NodeIDFromPublicKey derives the node_id of an Ed25519 or RSA public key
// (sdk/nodeid, shared with plugins and the hub).
func NodeIDFromPublicKey(pub crypto.PublicKey) (string, error) {
	return nodeid.FromPublicKey(pub)
}

// NodeIDFromCertificate derives the node_id from a certificate's public key
// (not from its CN, which anyone can write).
func NodeIDFromCertificate(cert *x509.Certificate) (string, error) {
	return nodeid.FromCertificate(cert)
}

// PublicKeyPEM returns the SubjectPublicKeyInfo PEM of pub, byte for byte as
// `openssl x509 -pubkey` prints it; this is the text a node_id hashes.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	return nodeid.PublicKeyPEM(pub)
}

// TLSCertificate returns the node certificate and key for crypto/tls.
func (id *Identity) TLSCertificate() tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{id.Certificate.Raw},
		PrivateKey:  id.Signer,
		Leaf:        id.Certificate,
	}
}

func generateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case KeyEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate Ed25519 key: %w", err)
		}
		return priv, nil
	case KeyRSA:
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits) // e = 65537
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return priv, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedKeyType, kt)
}

// createCertificate makes the self-signed node certificate.
func createCertificate(signer crypto.Signer, nodeID string, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	serial.SetBit(serial, 0, 1) // never zero
	name := pkix.Name{CommonName: nodeID}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		Issuer:                name,
		NotBefore:             now.Add(-certBackdate).UTC().Truncate(time.Second),
		NotAfter:              now.Add(certValidity).UTC().Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	switch signer.Public().(type) {
	case ed25519.PublicKey:
		tmpl.SignatureAlgorithm = x509.PureEd25519
	case *rsa.PublicKey:
		tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, nil
}

// parsePrivateKeyPEM parses a node key file: exactly one unencrypted PKCS#8
// "PRIVATE KEY" block holding an Ed25519 or RSA key.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, KeyType, error) {
	der, err := singlePEM(data, "PRIVATE KEY")
	if err != nil {
		return nil, "", err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, "", fmt.Errorf("not a PKCS#8 private key: %w", err)
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return k, KeyEd25519, nil
	case *rsa.PrivateKey:
		if err := nodeid.CheckRSABits(k.N.BitLen()); err != nil {
			return nil, "", err
		}
		return k, KeyRSA, nil
	}
	return nil, "", fmt.Errorf("%w: %T (want Ed25519 or RSA)", ErrUnsupportedKeyType, key)
}

func parseEnvelopeKeyPEM(data []byte) (*ecdh.PrivateKey, error) {
	der, err := singlePEM(data, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#8 private key: %w", err)
	}
	k, ok := key.(*ecdh.PrivateKey)
	if !ok || k.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("%w: envelope key is %T, want X25519", ErrUnsupportedKeyType, key)
	}
	return k, nil
}

func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	der, err := singlePEM(data, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("not an X.509 certificate: %w", err)
	}
	return cert, nil
}

// singlePEM returns the bytes of the only PEM block in data, which must have
// the given type, no headers and nothing but white space around it.
func singlePEM(data []byte, typ string) ([]byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no complete PEM block (truncated or not PEM)")
	}
	if block.Type != typ {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, typ)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("PEM block has headers (encrypted keys are not supported)")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("unexpected data after the PEM block")
	}
	return block.Bytes, nil
}

// corrupt wraps a parse or consistency problem with a message that names the
// file and warns against deleting the identity.
func corrupt(path string, err error) error {
	return fmt.Errorf("%w: %s: %w. Do not delete the identity lightly: `dpc init` would create a NEW identity "+
		"(a new node_id none of your peers know); restore %s from a backup instead", ErrCorruptKey, path, err, filepath.Dir(path))
}

func existsError(path string) error {
	return fmt.Errorf("%w: %s already exists; refusing to overwrite it (a new key would be a new identity)", ErrIdentityExists, path)
}

// fileError reports a missing identity file (node.key exists, so the
// identity is incomplete) as corrupt, and any other I/O problem as is.
func fileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return corrupt(path, errors.New("file is missing"))
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// readPrivateFile checks that a private key file is not accessible by group
// or others, then reads it.
func readPrivateFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o and is accessible by group or others; run: chmod 600 %s",
			ErrInsecureKeyFile, path, fi.Mode().Perm(), path)
	}
	return readFile(path)
}

// readFile reads at most maxFileSize bytes of an identity file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, corrupt(path, errors.New("not a regular file"))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, corrupt(path, fmt.Errorf("larger than %d bytes", maxFileSize))
	}
	return data, nil
}

// writeFileAtomic writes dir/name through a temporary file that is synced and
// then renamed (or, when exclusive, hard-linked so an existing file is never
// replaced), and syncs the directory afterwards.
func writeFileAtomic(dir, name string, data []byte, perm os.FileMode, exclusive bool) (err error) {
	final := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("write %s: %w", final, err)
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", final, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: sync: %w", final, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	if exclusive {
		if err = os.Link(tmp, final); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return existsError(final)
			}
			// File systems without hard links: check, then rename.
			if _, serr := os.Lstat(final); serr == nil {
				return existsError(final)
			}
			if err = os.Rename(tmp, final); err != nil {
				return fmt.Errorf("write %s: %w", final, err)
			}
		} else {
			_ = os.Remove(tmp)
		}
	} else if err = os.Rename(tmp, final); err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
