package identity

import (
	"crypto"
	"os"
	"path/filepath"
	"testing"
)

// Expected values computed with openssl and Python (see testdata/README.md),
// not with this package.
var fixtures = map[string]struct {
	file        string
	keyType     KeyType
	nodeID      string
	fingerprint string
}{
	"ed25519": {
		file:        "ed25519.key",
		keyType:     KeyEd25519,
		nodeID:      "dpc-node-e1f17b8289ab4c4b8ef70076113b9786",
		fingerprint: "72995 30632 25253 48912 66056 87731 10740 22008 90043 35945 15389 91495",
	},
	"rsa": {
		file:        "rsa.key",
		keyType:     KeyRSA,
		nodeID:      "dpc-node-3b477ff4dbf79f24ea9fcb0c65d94b06",
		fingerprint: "55351 57661 83338 03859 68438 89231 82956 03999 48525 74367 94094 13121",
	},
}

func loadFixtureKey(t testing.TB, file string) (crypto.Signer, KeyType) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	signer, kt, err := parsePrivateKeyPEM(data)
	if err != nil {
		t.Fatalf("parse %s: want no error, got %v", file, err)
	}
	return signer, kt
}

func TestFixtureNodeIDAndFingerprint(t *testing.T) {
	for name, tc := range fixtures {
		t.Run(name, func(t *testing.T) {
			signer, kt := loadFixtureKey(t, tc.file)
			if kt != tc.keyType {
				t.Errorf("key type: want %q got %q", tc.keyType, kt)
			}
			id, err := NodeIDFromPublicKey(signer.Public())
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.nodeID {
				t.Errorf("node_id: want %s got %s", tc.nodeID, id)
			}
			fp, err := FingerprintOf(signer.Public())
			if err != nil {
				t.Fatal(err)
			}
			if fp != tc.fingerprint {
				t.Errorf("fingerprint: want %q got %q", tc.fingerprint, fp)
			}
			// The Identity method must agree with FingerprintOf.
			ident := &Identity{Signer: signer}
			if got := ident.Fingerprint(); got != tc.fingerprint {
				t.Errorf("Identity.Fingerprint: want %q got %q", tc.fingerprint, got)
			}
		})
	}
}
