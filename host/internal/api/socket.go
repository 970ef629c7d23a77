package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/dpc-go/dpc/host/internal/home"
)

// sunPathMax is the longest path a Unix socket address holds: the kernel's
// sun_path less its terminating NUL (107 bytes on Linux).
var sunPathMax = len(syscall.RawSockaddrUnix{}.Path) - 1

// socketAddr returns an address for the socket at path that fits sun_path.
// A longer path is reached through a descriptor of its directory
// (/proc/self/fd/N/api.sock); release closes it once the socket is bound or
// connected.
func socketAddr(path string) (addr string, release func(), err error) {
	if len(path) <= sunPathMax {
		return path, func() {}, nil
	}
	tooLong := fmt.Errorf("%w: %s is %d bytes, the limit is %d; use a shorter --home", ErrSocketPath, path, len(path), sunPathMax)
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return "", nil, tooLong
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return "", nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	addr = fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), filepath.Base(path))
	if len(addr) > sunPathMax {
		d.Close()
		return "", nil, tooLong
	}
	return addr, func() { d.Close() }, nil
}

// listenUnix serves the socket at path (mode 0600) in a private directory.
// A socket that answers belongs to a running node; one that does not was
// left by a node that died and is replaced.
func listenUnix(path string) (net.Listener, error) {
	if err := home.CheckPrivate(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	if c, err := dialUnix(context.Background(), path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w: its API socket %s answers", ErrAlreadyRunning, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the stale API socket: %w", err)
	}
	addr, release, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", addr)
	release()
	if err != nil {
		return nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	// addr may name a descriptor closed by now; Close removes path itself.
	ul.SetUnlinkOnClose(false)
	l := &unixListener{UnixListener: ul, path: path}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("API socket %s: %w", path, err)
	}
	return l, nil
}

// unixListener removes its socket file when closed.
type unixListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { _ = os.Remove(l.path) })
	return err
}

// dialUnix connects to the socket at path and authenticates the server: the
// process serving it must run as this user, so nobody else can collect the
// token.
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	addr, release, err := socketAddr(path)
	if err != nil {
		return nil, err
	}
	defer release()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		return nil, err
	}
	if err := checkPeerUID(c, path); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// checkPeerUID makes sure the process at the other end of c runs as this user.
func checkPeerUID(c net.Conn, path string) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("%w: %s is not a Unix socket", ErrImpostor, path)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("API socket %s: reading its owner: %w", path, credErr)
	}
	if int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s is served by uid %d (pid %d), not by you (uid %d)", ErrImpostor, path, cred.Uid, cred.Pid, os.Getuid())
	}
	return nil
}

// Listeners are the local API's bound TCP address (for the browser UI) and
// Unix socket (for the CLI).
type Listeners struct {
	tcp, unix net.Listener
}

// Listen binds the local API: the TCP address tcpAddr and the Unix socket
// at socketPath. The node does it before anything else starts, so a taken
// address fails at once.
func Listen(tcpAddr, socketPath string) (*Listeners, error) {
	tcp, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		return nil, fmt.Errorf("local API on %s: %w (is another dpc running? --api or api.listen in dpc.hcl picks another address)", tcpAddr, err)
	}
	unix, err := listenUnix(socketPath)
	if err != nil {
		tcp.Close()
		return nil, err
	}
	return &Listeners{tcp: tcp, unix: unix}, nil
}

// TCPAddr is the TCP address actually bound.
func (l *Listeners) TCPAddr() string { return l.tcp.Addr().String() }

// Close unbinds both; the socket file is removed.
func (l *Listeners) Close() {
	_ = l.tcp.Close()
	_ = l.unix.Close()
}
