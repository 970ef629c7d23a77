package session

import (
	"crypto/tls"
	"fmt"

	"github.com/dpc-go/dpc/host/internal/identity"
)

// ALPN is the protocol our native sessions negotiate.
const ALPN = "dptp/1"

// verifyPeer checks the certificate a peer presented: exactly one, whose CN
// is the node_id derived from its own public key. TLS has already proved
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
	return id, nil
}

// tlsConfig is the TLS configuration for one side. Certificates are
// self-signed and pinned by node_id, so chain verification is replaced by
// VerifyConnection; expected is the node_id the client dialed ("" on the
// server side, which learns who connected).
//
// A native session negotiates ALPN dptp/1 over TLS 1.3 and both sides
// present a certificate. With v1 set, a peer that negotiates no ALPN is a
// D-PC Messenger v1 peer: as a server this node then needs no client
// certificate (v1 clients have none; they prove themselves in the v1
// HELLO), and accepts TLS 1.2, which D-PC's Python runtime may use; as a
// client it checks the v1 server's certificate as strictly as a native
// one: its key must hash to the node_id dialed (D-PC itself checks only
// the CN).
//
// noV1 is why v1 is off, for the refusal ("" means off in dpc.hcl).
func tlsConfig(id *identity.Identity, expected string, v1 bool, noV1 string) *tls.Config {
	if noV1 == "" {
		noV1 = "D-PC v1 compatibility is off in dpc.hcl"
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.TLSCertificate()},
		NextProtos:   []string{ALPN},
		// Self-signed certificates: we verify the key → node_id binding
		// ourselves in VerifyConnection instead of a CA chain.
		InsecureSkipVerify: true,
		// Asked for, and required by VerifyConnection for every native
		// session; not required by TLS itself, so that a client without
		// one (a D-PC v1 node) hears why it is refused.
		ClientAuth: tls.RequestClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			native := cs.NegotiatedProtocol == ALPN
			switch {
			case !native && !v1:
				return fmt.Errorf("%w: ALPN %q negotiated (%s)", ErrProtocol, cs.NegotiatedProtocol, noV1)
			case native && cs.Version != tls.VersionTLS13:
				return fmt.Errorf("%w: dptp/1 needs TLS 1.3", ErrProtocol)
			case !native && expected == "":
				return nil // a v1 client: it proves itself in its HELLO
			}
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
	if v1 {
		cfg.MinVersion = tls.VersionTLS12
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
