//go:build !unix

package sdktest

import "os"

// lockPort takes the lock file of a port: created exclusively, removed at
// release (a test process killed meanwhile leaves it, and the port is
// passed by until the file is removed).
func lockPort(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if os.IsExist(err) {
		return nil, errPortLocked
	}
	if err != nil {
		return nil, err
	}
	_ = f.Close()
	return func() { _ = os.Remove(path) }, nil
}
