package hubsvc

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// ErrBadCache means a cached hub session could not be opened: written by
// another node key, for another plugin, or damaged.
var ErrBadCache = errors.New("the cached hub session cannot be opened")

// sealVersion is the first byte of a sealed session.
const sealVersion = 1

// keyInfo separates this key from anything else derived from the node key.
const keyInfo = "dpc-go hub session cache v1"

// sealer seals hub sessions at rest.
type sealer struct{ aead cipher.AEAD }

// newSealer derives the cache key from the node's private key.
func newSealer(key crypto.Signer) (*sealer, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("hub session cache: the node key: %w", err)
	}
	k, err := hkdf.Key(sha256.New, der, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("hub session cache: deriving the key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("hub session cache: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("hub session cache: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// sealedSession is the plaintext inside a sealed blob.
type sealedSession struct {
	Data    []byte    `json:"data"`
	Expires time.Time `json:"expires,omitzero"`
}

// associated binds a blob to the plugin it was saved for.
func associated(plugin string) []byte { return []byte("dpc-go hub session\x00" + plugin) }

// seal encrypts s for plugin: version || nonce || ciphertext.
func (sl *sealer) seal(plugin string, s sdk.HubSession) ([]byte, error) {
	plain, err := json.Marshal(sealedSession{Data: s.Data, Expires: s.Expires})
	if err != nil {
		return nil, fmt.Errorf("hub session cache: %w", err)
	}
	nonce := make([]byte, sl.aead.NonceSize(), 1+sl.aead.NonceSize()+len(plain)+sl.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out := append([]byte{sealVersion}, nonce...)
	return sl.aead.Seal(out, nonce, plain, associated(plugin)), nil
}

// open decrypts a blob seal made for plugin.
func (sl *sealer) open(plugin string, blob []byte) (sdk.HubSession, error) {
	ns := sl.aead.NonceSize()
	if len(blob) < 1+ns+sl.aead.Overhead() || blob[0] != sealVersion {
		return sdk.HubSession{}, fmt.Errorf("%w: not a sealed session of this version", ErrBadCache)
	}
	plain, err := sl.aead.Open(nil, blob[1:1+ns], blob[1+ns:], associated(plugin))
	if err != nil {
		return sdk.HubSession{}, fmt.Errorf("%w: %w", ErrBadCache, err)
	}
	var s sealedSession
	if err := json.Unmarshal(plain, &s); err != nil {
		return sdk.HubSession{}, fmt.Errorf("%w: %w", ErrBadCache, err)
	}
	return sdk.HubSession{Data: s.Data, Expires: s.Expires}, nil
}
