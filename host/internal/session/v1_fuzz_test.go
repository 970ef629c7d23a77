package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// v1Frame reads body as one framed DPTP frame, as the session would.
func v1Frame(body []byte) (dptp.Frame, error) {
	return dptp.NewReader(bytes.NewReader(append(fmt.Appendf(nil, "%010d", len(body)), body...)), 0).Read()
}

// FuzzV1Handshake feeds arbitrary frame bodies to the three v1 handshake
// decoders: none may panic, and anything accepted must be what it claims.
func FuzzV1Handshake(f *testing.F) {
	nonce := bytes.Repeat([]byte{7}, v1NonceSize)
	f.Add([]byte(`{"command": "HELLO_CHALLENGE", "payload": {"nonce": "` + base64.StdEncoding.EncodeToString(nonce) + `"}}`))
	f.Add([]byte(`{"command": "HELLO", "payload": {"node_id": "dpc-node-0123456789abcdef0123456789abcdef", "name": null, "cert_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "nonce_signature": "AAAA"}}`))
	f.Add([]byte(`{"command": "HELLO_ACK", "status": "OK", "name": "Carol", "node_id": "dpc-node-0123456789abcdef0123456789abcdef"}`))
	f.Add([]byte(`{"command": "HELLO_ACK", "status": "OK", "name": 7, "node_id": null}`))
	f.Add([]byte(`{"command": "HELLO", "payload": {"node_id": 1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := v1Frame(body)
		if err != nil {
			return
		}
		if got, err := DecodeV1Challenge(fr); err == nil && len(got) != v1NonceSize {
			t.Fatalf("accepted a nonce of %d bytes", len(got))
		}
		if id, _, err := DecodeV1Hello(fr, nonce); err == nil {
			// Only a real signature over this nonce by the key behind id
			// can pass; random bytes never do.
			t.Fatalf("accepted a HELLO from %s without a valid signature", id)
		} else if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrBadCertificate) && !errors.Is(err, ErrPeerMismatch) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("HELLO error of no known kind: %v", err)
		}
		const expected = "dpc-node-0123456789abcdef0123456789abcdef"
		if _, err := DecodeV1HelloAck(fr, expected); err == nil && !bytes.Contains(fr.Body, []byte(expected)) {
			t.Fatalf("accepted a HELLO_ACK that does not name %s", expected)
		}
	})
}
