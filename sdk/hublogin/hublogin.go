package hublogin

import (
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// Purpose is the host signing purpose of a hub login; it equals
// sdk.PurposeHubLogin.
const Purpose = "hub-login/v1"

// dataContext starts the signed data; it ends in NUL.
const dataContext = "dpc-hub-login/v1\x00"

// Bounds on the fields of a challenge and a login.
const (
	// MaxURLLen bounds a hub URL.
	MaxURLLen = 2048
	// MinNonceLen and MaxNonceLen bound a nonce (base64url characters).
	MinNonceLen = 22
	MaxNonceLen = 128
	// MaxCertificatePEM bounds the certificate PEM a node presents.
	MaxCertificatePEM = 16 << 10
	// MaxSignatureLen bounds a signature (RSA-4096 signs 512 bytes).
	MaxSignatureLen = 512
)

// Errors returned by this package.
var (
	// ErrInvalidURL is returned for a hub URL that is not an absolute http(s) URL.
	ErrInvalidURL = errors.New("invalid hub URL")
	// ErrInvalidChallenge is returned for malformed challenge data or fields.
	ErrInvalidChallenge = errors.New("invalid hub login challenge")
	// ErrBadCertificate is returned for a certificate that cannot be parsed or holds an unsupported key.
	ErrBadCertificate = errors.New("invalid node certificate")
	// ErrNodeIDMismatch is returned when the certificate's key does not hash to the claimed node_id.
	ErrNodeIDMismatch = errors.New("node_id does not match the certificate's key")
	// ErrAlgorithmMismatch is returned when the named algorithm is not the one of the key.
	ErrAlgorithmMismatch = errors.New("signature algorithm does not match the key")
	// ErrBadSignature is returned when the signature does not verify (it wraps nodeid.ErrBadSignature).
	ErrBadSignature = nodeid.ErrBadSignature
)

// Challenge is what a login signature binds.
type Challenge struct {
	// HubURL is the hub's canonical URL, its audience.
	HubURL string
	// NodeID is the node logging in.
	NodeID string
	// Nonce is the hub's single-use nonce.
	Nonce string
}

// CanonicalURL returns the form of a hub URL both sides sign: scheme and host
// in lower case, no default port, no trailing slash, no user info, query or
// fragment. "https://Hub.Example.org:443/" becomes "https://hub.example.org".
func CanonicalURL(raw string) (string, error) {
	if len(raw) > MaxURLLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidURL, MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidURL, raw, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("%w %q: scheme must be http or https", ErrInvalidURL, raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w %q: no host", ErrInvalidURL, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%w %q: user info, query and fragment are not allowed", ErrInvalidURL, raw)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	return scheme + "://" + host + path, nil
}

// validNonce reports whether s is base64url without padding, of a sane length.
func validNonce(s string) bool {
	if len(s) < MinNonceLen || len(s) > MaxNonceLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// check validates the fields of c; HubURL must already be canonical.
func (c Challenge) check() error {
	canon, err := CanonicalURL(c.HubURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidChallenge, err)
	}
	if canon != c.HubURL {
		return fmt.Errorf("%w: hub URL %q is not canonical (want %q)", ErrInvalidChallenge, c.HubURL, canon)
	}
	if !dpcuri.ValidNodeID(c.NodeID) {
		return fmt.Errorf("%w: node_id %q is not dpc-node- followed by 32 lower-case hex", ErrInvalidChallenge, c.NodeID)
	}
	if !validNonce(c.Nonce) {
		return fmt.Errorf("%w: nonce must be %d to %d base64url characters", ErrInvalidChallenge, MinNonceLen, MaxNonceLen)
	}
	return nil
}

// Data returns the bytes a node signs to log in to the hub at hubURL (any
// form; it is canonicalised) with nonce.
func Data(hubURL, nodeID, nonce string) ([]byte, error) {
	canon, err := CanonicalURL(hubURL)
	if err != nil {
		return nil, err
	}
	c := Challenge{HubURL: canon, NodeID: nodeID, Nonce: nonce}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c.encode(), nil
}

func (c Challenge) encode() []byte {
	b := make([]byte, 0, len(dataContext)+6+len(c.HubURL)+len(c.NodeID)+len(c.Nonce))
	b = append(b, dataContext...)
	for _, f := range []string{c.HubURL, c.NodeID, c.Nonce} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

// ParseData decodes signed login data, the inverse of Data; it accepts only
// the canonical encoding (no trailing bytes, canonical URL, valid fields).
func ParseData(b []byte) (Challenge, error) {
	if !strings.HasPrefix(string(b), dataContext) {
		return Challenge{}, fmt.Errorf("%w: does not start with %q", ErrInvalidChallenge, strings.TrimSuffix(dataContext, "\x00"))
	}
	rest := b[len(dataContext):]
	var fields [3]string
	for i := range fields {
		if len(rest) < 2 {
			return Challenge{}, fmt.Errorf("%w: truncated at field %d", ErrInvalidChallenge, i)
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < n {
			return Challenge{}, fmt.Errorf("%w: field %d is cut short", ErrInvalidChallenge, i)
		}
		fields[i] = string(rest[:n])
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return Challenge{}, fmt.Errorf("%w: %d trailing bytes", ErrInvalidChallenge, len(rest))
	}
	c := Challenge{HubURL: fields[0], NodeID: fields[1], Nonce: fields[2]}
	if err := c.check(); err != nil {
		return Challenge{}, err
	}
	return c, nil
}

// ParseCertificatePEM parses a node certificate: exactly one CERTIFICATE PEM
// block holding an Ed25519 or RSA key, and returns it with the node_id
// derived from its key (never from its CN).
func ParseCertificatePEM(certPEM []byte) (*x509.Certificate, string, error) {
	if len(certPEM) > MaxCertificatePEM {
		return nil, "", fmt.Errorf("%w: longer than %d bytes", ErrBadCertificate, MaxCertificatePEM)
	}
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, "", fmt.Errorf("%w: no CERTIFICATE PEM block", ErrBadCertificate)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, "", fmt.Errorf("%w: data after the certificate", ErrBadCertificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	id, err := nodeid.FromCertificate(cert)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	return cert, id, nil
}

// Verify checks a login: the certificate's key must hash to nodeID, alg must
// be that key's algorithm, and sig must be the key's signature over
// Data(hubURL, nodeID, nonce) for Purpose. The hub passes its own URL, so a
// signature made for another hub never verifies.
func Verify(certPEM []byte, nodeID, hubURL, nonce string, sig []byte, alg string) error {
	data, err := Data(hubURL, nodeID, nonce)
	if err != nil {
		return err
	}
	cert, derived, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return err
	}
	if derived != nodeID {
		return fmt.Errorf("%w: the certificate's key gives %s, the login claims %s", ErrNodeIDMismatch, derived, nodeID)
	}
	want, err := nodeid.AlgorithmOf(cert.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	if alg != want {
		return fmt.Errorf("%w: got %q, the key signs with %q", ErrAlgorithmMismatch, alg, want)
	}
	if len(sig) == 0 || len(sig) > MaxSignatureLen {
		return fmt.Errorf("%w: signature of %d bytes", ErrBadSignature, len(sig))
	}
	if err := nodeid.VerifyDomain(cert.PublicKey, Purpose, data, sig); err != nil {
		return fmt.Errorf("hub login: %w", err)
	}
	return nil
}
