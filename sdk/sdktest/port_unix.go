//go:build unix

package sdktest

import (
	"errors"
	"os"
	"syscall"
)

// lockPort takes the lock file of a port; the kernel drops the lock when
// the process ends, however it ends.
func lockPort(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errPortLocked
		}
		return nil, err
	}
	return func() { _ = f.Close() }, nil
}
