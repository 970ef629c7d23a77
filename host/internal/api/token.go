package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var (
	// ErrNotRunning means no node answers at the API address.
	ErrNotRunning = errors.New("dpc is not running")
	// ErrUnauthorized means the API refused the token.
	ErrUnauthorized = errors.New("the local API refused the token")
	// ErrRequest means the node refused a request; the message says why.
	ErrRequest = errors.New("request refused")
)

// EnsureToken reads the API token at path, creating a new random one (mode
// 0600) if there is none.
func EnsureToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) < 32 {
			return "", fmt.Errorf("API token %s is too short; delete it and restart dpc to make a new one", path)
		}
		return tok, nil
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("reading API token: %w", err)
	}
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

// WriteAddress records the address the API is bound to.
func WriteAddress(path, addr string) error { return writePrivate(path, addr+"\n") }
