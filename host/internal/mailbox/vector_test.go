package mailbox

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/envelope-v1.hex")

// vectorCreated is the time sealed into the vector; it is opened an hour later.
var vectorCreated = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

const vectorFile = "envelope-v1.hex"

// fixtureIdentity loads testdata/<name>, copied with the modes Load
// insists on (git keeps none).
func fixtureIdentity(t testing.TB, name string) *identity.Identity {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{identity.NodeKeyFile, identity.NodeCertFile, identity.EnvelopeKeyFile, identity.EnvelopeSigFile} {
		b, err := os.ReadFile(filepath.Join("testdata", name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	id, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestEnvelopeVector: the committed envelope, sealed by testdata/sender to
// testdata/recipient, keeps opening to the same letter. A change to the
// format that breaks envelopes already waiting on hubs fails here.
func TestEnvelopeVector(t *testing.T) {
	sender, recipient := fixtureIdentity(t, "sender"), fixtureIdentity(t, "recipient")
	path := filepath.Join("testdata", vectorFile)
	if *update {
		env, err := sealAt(sender, recordOf(recipient), "CHANNEL_OPS", testPayload, vectorCreated)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(env)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := openAt(recipient, env, vectorCreated.Add(time.Hour))
	if err != nil {
		t.Fatalf("the committed envelope no longer opens: %v", err)
	}
	if l.Sender != sender.NodeID || l.Command != "CHANNEL_OPS" || !bytes.Equal(l.Payload, testPayload) || !l.Created.Equal(vectorCreated) ||
		!bytes.Equal(l.Certificate.Raw, sender.Certificate.Raw) {
		t.Fatalf("opened %s %s %q made %s, want %s CHANNEL_OPS %q made %s", l.Sender, l.Command, l.Payload, l.Created, sender.NodeID, testPayload, vectorCreated)
	}
	if _, err := openAt(sender, env, vectorCreated.Add(time.Hour)); err == nil {
		t.Fatal("the envelope opened for its sender too")
	}
}
