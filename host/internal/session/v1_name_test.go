package session

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
)

// TestV1HelloHugeNameRefused: a D-PC v1 peer's name, in its HELLO or its
// HELLO_ACK, is checked like a dptp/1 HELLO's. Before, any string was
// taken, 2 MiB of it or one full of terminal escapes.
func TestV1HelloHugeNameRefused(t *testing.T) {
	t.Parallel()
	id, err := identity.Create(filepath.Join(t.TempDir(), "id"), identity.KeyRSA)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, v1NonceSize)
	digest := sha256.Sum256(nonce)
	sig, err := rsa.SignPSS(rand.Reader, id.Signer.(*rsa.PrivateKey), crypto.SHA256, digest[:], pssOptions)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		name    *string
		wantErr string // "" for accepted
	}{
		"no name":           {name: nil},
		"plain name":        {name: nullable("Anna Müller")},
		"longest name":      {name: nullable(strings.Repeat("a", dptp.MaxNameLen))},
		"2 MiB name":        {name: nullable(strings.Repeat("a", 2<<20)), wantErr: "2097152 bytes, at most 128 allowed"},
		"one byte too long": {name: nullable(strings.Repeat("a", dptp.MaxNameLen+1)), wantErr: "129 bytes, at most 128 allowed"},
		"terminal escape":   {name: nullable("Bob\x1b[2J\x1b]0;pwned\a"), wantErr: "contains control character U+001B"},
		"newline":           {name: nullable("Bob\nMallory"), wantErr: "contains control character U+000A"},
		"C1 control":        {name: nullable("Bob\u009b31m"), wantErr: "contains control character U+009B"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hello, err := json.Marshal(V1Hello{NodeID: id.NodeID, Name: tc.name, CertPEM: string(id.CertificatePEM),
				NonceSignature: base64.StdEncoding.EncodeToString(sig)})
			if err != nil {
				t.Fatal(err)
			}
			ack, err := json.Marshal(V1HelloAck{Command: CmdHelloAck, Status: "OK", Name: tc.name, NodeID: id.NodeID})
			if err != nil {
				t.Fatal(err)
			}
			_, gotHello, helloErr := DecodeV1Hello(dptp.Frame{Command: dptp.CmdHello, Payload: hello}, nonce)
			gotAck, ackErr := DecodeV1HelloAck(dptp.Frame{Command: CmdHelloAck, Body: ack}, id.NodeID)
			for which, err := range map[string]error{"HELLO": helloErr, "HELLO_ACK": ackErr} {
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("%s: want accepted, got %v", which, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrProtocol)):
					t.Errorf("%s: want an ErrProtocol saying %q, got %v", which, tc.wantErr, err)
				}
			}
			if tc.wantErr == "" && tc.name != nil && (gotHello != *tc.name || gotAck != *tc.name) {
				t.Errorf("want the name %q from both, got %q and %q", *tc.name, gotHello, gotAck)
			}
		})
	}
}
