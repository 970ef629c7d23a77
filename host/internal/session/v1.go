package session

// D-PC Messenger v1's Direct TLS handshake (reference/dpc-legacy-wire.md
// §4.4–4.5), for peers that do not negotiate ALPN dptp/1. After
// server-authenticated TLS the accepting side sends HELLO_CHALLENGE with a
// nonce; the dialer answers HELLO with its certificate and an RSA-PSS
// signature of the nonce; the accepting side answers HELLO_ACK. The nonce
// signature is not bound to the TLS channel: this authentication is weaker
// than the native session's mutual TLS, and sessions say so (Session.V1).

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// D-PC v1 handshake commands.
const (
	CmdHelloChallenge = "HELLO_CHALLENGE"
	CmdHelloAck       = "HELLO_ACK"
)

// v1NonceSize is the size of D-PC's challenge nonce.
const v1NonceSize = 32

// maxV1CertPEM bounds the certificate a v1 HELLO may carry.
const maxV1CertPEM = 16 << 10

// pssOptions are D-PC's RSA-PSS parameters: SHA-256, MGF1-SHA256 and the
// maximum salt when signing (222 bytes for RSA-2048, which both strict and
// lenient D-PC verifiers accept); any salt when verifying, as D-PC's
// current verifier does.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256}

// V1Challenge is the HELLO_CHALLENGE payload.
type V1Challenge struct {
	Nonce string `json:"nonce"`
}

// V1Hello is D-PC v1's HELLO payload (the dialer's proof of identity).
type V1Hello struct {
	NodeID         string  `json:"node_id"`
	Name           *string `json:"name"`
	CertPEM        string  `json:"cert_pem"`
	NonceSignature string  `json:"nonce_signature"`
}

// V1HelloAck is D-PC v1's HELLO_ACK: its fields are top-level, beside
// "command", and it has no payload.
type V1HelloAck struct {
	Command string  `json:"command"`
	Status  string  `json:"status"`
	Name    *string `json:"name"`
	NodeID  string  `json:"node_id"`
}

// DecodeV1Challenge reads a HELLO_CHALLENGE frame and returns its nonce.
func DecodeV1Challenge(f dptp.Frame) ([]byte, error) {
	if f.Command != CmdHelloChallenge {
		return nil, fmt.Errorf("%w: D-PC v1 peer sent %s first, want %s", ErrProtocol, f.Command, CmdHelloChallenge)
	}
	var c V1Challenge
	if err := json.Unmarshal(f.Payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %s payload: %v", ErrProtocol, CmdHelloChallenge, err)
	}
	nonce, err := base64.StdEncoding.DecodeString(c.Nonce)
	if err != nil || len(nonce) != v1NonceSize {
		return nil, fmt.Errorf("%w: %s nonce is not %d bytes of base64", ErrProtocol, CmdHelloChallenge, v1NonceSize)
	}
	return nonce, nil
}

// DecodeV1Hello reads a D-PC v1 HELLO frame and checks it against nonce:
// the certificate's CN and its key both give the claimed node_id, the key is
// RSA, and the signature of the nonce verifies. It returns the node_id and
// the display name.
func DecodeV1Hello(f dptp.Frame, nonce []byte) (nodeID, name string, err error) {
	if f.Command != dptp.CmdHello {
		return "", "", fmt.Errorf("%w: D-PC v1 peer sent %s, want HELLO", ErrProtocol, f.Command)
	}
	var h V1Hello
	if err := json.Unmarshal(f.Payload, &h); err != nil {
		return "", "", fmt.Errorf("%w: HELLO payload: %v", ErrProtocol, err)
	}
	if h.CertPEM == "" || h.NonceSignature == "" {
		return "", "", fmt.Errorf("%w: HELLO without cert_pem or nonce_signature (an outdated D-PC version)", ErrProtocol)
	}
	if !dpcuri.ValidNodeID(h.NodeID) {
		return "", "", fmt.Errorf("%w: HELLO node_id %q is not a node_id", ErrProtocol, h.NodeID)
	}
	if len(h.CertPEM) > maxV1CertPEM {
		return "", "", fmt.Errorf("%w: HELLO cert_pem of %d bytes", ErrBadCertificate, len(h.CertPEM))
	}
	block, _ := pem.Decode([]byte(h.CertPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", "", fmt.Errorf("%w: HELLO cert_pem is not a PEM certificate", ErrBadCertificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", "", fmt.Errorf("%w: HELLO cert_pem: %v", ErrBadCertificate, err)
	}
	if cert.Subject.CommonName != h.NodeID {
		return "", "", fmt.Errorf("%w: certificate CN %q is not the claimed node_id %s", ErrPeerMismatch, cert.Subject.CommonName, h.NodeID)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "", "", fmt.Errorf("%w: HELLO certificate has a %T key; D-PC v1 peers prove themselves with RSA", ErrBadCertificate, cert.PublicKey)
	}
	derived, err := identity.NodeIDFromPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	if derived != h.NodeID {
		return "", "", fmt.Errorf("%w: HELLO claims %s but the certificate key is %s", ErrPeerMismatch, h.NodeID, derived)
	}
	sig, err := base64.StdEncoding.DecodeString(h.NonceSignature)
	if err != nil {
		return "", "", fmt.Errorf("%w: nonce_signature is not base64", ErrBadSignature)
	}
	digest := sha256.Sum256(nonce)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, pssOptions); err != nil {
		return "", "", fmt.Errorf("%w: the nonce signature of %s does not verify", ErrBadSignature, h.NodeID)
	}
	if h.Name != nil {
		if err := dptp.CheckName(*h.Name); err != nil {
			return "", "", fmt.Errorf("%w: HELLO: %w", ErrProtocol, err)
		}
		name = *h.Name
	}
	return h.NodeID, name, nil
}

// DecodeV1HelloAck reads a HELLO_ACK frame and checks that it accepts
// expected.
func DecodeV1HelloAck(f dptp.Frame, expected string) (name string, err error) {
	var a V1HelloAck
	if err := json.Unmarshal(f.Body, &a); err != nil {
		return "", fmt.Errorf("%w: HELLO_ACK: %v", ErrProtocol, err)
	}
	if a.Status != "OK" {
		return "", fmt.Errorf("%w: HELLO_ACK status %q", ErrProtocol, a.Status)
	}
	if a.NodeID != expected {
		return "", fmt.Errorf("%w: HELLO_ACK from %q, expected %s", ErrPeerMismatch, a.NodeID, expected)
	}
	if a.Name != nil {
		if err := dptp.CheckName(*a.Name); err != nil {
			return "", fmt.Errorf("%w: HELLO_ACK: %w", ErrProtocol, err)
		}
		name = *a.Name
	}
	return name, nil
}

// v1Server runs the accepting side of the D-PC v1 handshake on s.
func v1Server(s *Session, o Options) error {
	if _, ok := o.Identity.Signer.(*rsa.PrivateKey); !ok {
		return fmt.Errorf("%w: this node's key is %s; D-PC v1 peers need an RSA identity (dpc init --key rsa)", ErrV1Unsupported, o.Identity.KeyType)
	}
	nonce := make([]byte, v1NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	if err := s.w.Write(CmdHelloChallenge, V1Challenge{Nonce: base64.StdEncoding.EncodeToString(nonce)}); err != nil {
		return fmt.Errorf("sending %s: %w", CmdHelloChallenge, err)
	}
	f, err := s.r.Read()
	if err != nil {
		return fmt.Errorf("reading HELLO: %w", err)
	}
	id, name, err := DecodeV1Hello(f, nonce)
	if err != nil {
		return err
	}
	if o.AcceptV1 != nil {
		if err := o.AcceptV1(id); err != nil {
			return err
		}
	}
	ack, err := json.Marshal(V1HelloAck{Command: CmdHelloAck, Status: "OK", Name: nullable(o.Name), NodeID: o.Identity.NodeID})
	if err != nil {
		return err
	}
	if err := s.w.WriteBody(ack); err != nil {
		return fmt.Errorf("sending %s: %w", CmdHelloAck, err)
	}
	s.PeerID, s.PeerName = id, name
	return nil
}

// v1Client runs the dialing side of the D-PC v1 handshake on s; the TLS
// handshake has already checked that the server's certificate belongs to
// expected.
func v1Client(s *Session, o Options, expected string) error {
	key, ok := o.Identity.Signer.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("%w: this node's key is %s; D-PC v1 peers need an RSA identity (dpc init --key rsa)", ErrV1Unsupported, o.Identity.KeyType)
	}
	f, err := s.r.Read()
	if err != nil {
		return fmt.Errorf("reading %s: %w", CmdHelloChallenge, err)
	}
	nonce, err := DecodeV1Challenge(f)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(nonce)
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], pssOptions)
	if err != nil {
		return err
	}
	hello := V1Hello{NodeID: o.Identity.NodeID, Name: nullable(o.Name), CertPEM: string(o.Identity.CertificatePEM),
		NonceSignature: base64.StdEncoding.EncodeToString(sig)}
	if err := s.w.Write(dptp.CmdHello, hello); err != nil {
		return fmt.Errorf("sending HELLO: %w", err)
	}
	if f, err = s.r.Read(); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: the D-PC v1 peer closed the connection instead of HELLO_ACK (it refused our HELLO)", ErrProtocol)
		}
		return fmt.Errorf("reading %s: %w", CmdHelloAck, err)
	}
	name, err := DecodeV1HelloAck(f, expected)
	if err != nil {
		return err
	}
	s.PeerID, s.PeerName = expected, name
	return nil
}

// nullable is D-PC's display name: null when there is none.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
