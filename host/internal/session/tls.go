package session

import (
	"crypto/tls"
	"fmt"

	"github.com/dpc-go/dpc/host/internal/identity"
)

// ALPN is the protocol our native sessions negotiate.
const ALPN = "dptp/1"

// verifyPeer checks the certificate a peer presented: exactly one, whose CN
// is the node_id derived from its own public key. TLS 1.3 has already proved
// the peer holds that key (CertificateVerify). It returns the node_id.
func verifyPeer(cs tls.ConnectionState) (string, error) {
	if len(cs.PeerCertificates) != 1 {
		return "", fmt.Errorf("%w: want exactly one certificate, got %d", ErrBadCertificate, len(cs.PeerCertificates))
	}
	cert := cs.PeerCertificates[0]
	id, err := identity.NodeIDFromCertificate(cert)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	if cert.Subject.CommonName != id {
		return "", fmt.Errorf("%w: CN %q is not the node_id of its key (%s)", ErrBadCertificate, cert.Subject.CommonName, id)
	}
	if cs.NegotiatedProtocol != ALPN {
		return "", fmt.Errorf("%w: ALPN %q negotiated", ErrProtocol, cs.NegotiatedProtocol)
	}
	return id, nil
}

// tlsConfig is the TLS 1.3 configuration for one side. Certificates are
// self-signed and pinned by node_id, so chain verification is replaced by
// VerifyConnection; expected is the node_id the client dialed ("" on the
// server side, which learns who connected).
func tlsConfig(id *identity.Identity, expected string) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.TLSCertificate()},
		NextProtos:   []string{ALPN},
		// Self-signed certificates: we verify the key → node_id binding
		// ourselves in VerifyConnection instead of a CA chain.
		InsecureSkipVerify: true,
		ClientAuth:         tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			got, err := verifyPeer(cs)
			if err != nil {
				return err
			}
			if expected != "" && got != expected {
				return fmt.Errorf("%w: expected %s, the peer's key is %s", ErrPeerMismatch, expected, got)
			}
			return nil
		},
	}
	return cfg
}

// leafNodeID reads the verified peer node_id back from a finished handshake.
func leafNodeID(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	id, _ := identity.NodeIDFromCertificate(cs.PeerCertificates[0])
	return id
}
