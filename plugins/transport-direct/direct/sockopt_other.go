//go:build !unix && !windows

package direct

import "syscall"

// setIPv6Only does nothing on systems without the IPV6_V6ONLY option; an
// IPv4 and an IPv6 wildcard listener on one port may then collide.
func setIPv6Only(_, _ string, _ syscall.RawConn) error { return nil }
