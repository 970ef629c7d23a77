package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

var (
	// ErrNotRunning means no node answers at the API address.
	ErrNotRunning = errors.New("dpc is not running")
	// ErrUnauthorized means the API refused the token.
	ErrUnauthorized = errors.New("the local API refused the token")
	// ErrRequest means the node did not carry out a request; the
	// [*RequestError] says why.
	ErrRequest = errors.New("the node did not carry out the request")
	// ErrAlreadyRunning means a node already runs with this data directory.
	ErrAlreadyRunning = errors.New("another dpc is running with this data directory")
	// ErrSocketPath means the API socket's path does not fit a Unix socket
	// address.
	ErrSocketPath = errors.New("the data directory's path is too long for the API socket")
	// ErrImpostor means the API socket is not served by this user, so the
	// token is not sent to it.
	ErrImpostor = errors.New("the API socket is not served by this user")
	// ErrInsideHome means a request named a file inside the data directory
	// (keys, store, tokens), which the API never reads for anyone.
	ErrInsideHome = errors.New("path is inside the data directory")
	// ErrBadQuery means a request's query parameters are invalid.
	ErrBadQuery = errors.New("bad query")
)

// NewToken writes a fresh random API token at path (mode 0600), replacing
// the one of the node's previous run, and returns it.
func NewToken(path string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b[:])
	if err := writePrivate(path, tok+"\n"); err != nil {
		return "", fmt.Errorf("writing API token: %w", err)
	}
	return tok, nil
}

// writePrivate writes a small 0600 file atomically.
func writePrivate(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
