package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrInsecureSecret is returned when a secret file (the token secret, the
// TURN secret) is readable by group or others.
var ErrInsecureSecret = errors.New("secret file has insecure permissions")

// LoadOrCreateSecret reads a secret of at least MinSecretLen bytes from path
// (base64, one line), or when the file does not exist and create is true
// writes a new random one with mode 0600. It holds the HS256 token secret
// and the TURN credential secret. A secret readable by others is refused:
// whoever reads it can mint tokens (or TURN credentials) for any node.
func LoadOrCreateSecret(path string, create bool) ([]byte, error) {
	data, err := ReadSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createSecret(path)
	}
	if err != nil {
		return nil, err
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("secret %s: not base64: %w", path, err)
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("secret %s: %d bytes, want at least %d", path, len(secret), MinSecretLen)
	}
	return secret, nil
}

// ReadSecretFile reads a file holding a secret (the token secret, the TURN
// secret, an OAuth client secret), refusing one readable by group or others
// (ErrInsecureSecret). A missing file's error wraps fs.ErrNotExist.
func ReadSecretFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is mode %o; run chmod 600 %s", ErrInsecureSecret, path, fi.Mode().Perm(), path)
	}
	return data, nil
}

func createSecret(path string) ([]byte, error) {
	secret := make([]byte, MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate secret %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret %s: %w", path, err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(secret) + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write secret %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write secret %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret %s: %w", path, err)
	}
	return secret, nil
}
