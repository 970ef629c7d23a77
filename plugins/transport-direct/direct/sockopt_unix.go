//go:build unix

package direct

import "syscall"

// setIPv6Only is a net.ListenConfig.Control func that makes an IPv6 socket
// IPv6-only (IPV6_V6ONLY=1), so that an IPv4 listener can bind the same
// port.
func setIPv6Only(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
	}); err != nil {
		return err
	}
	return serr
}
