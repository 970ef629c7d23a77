package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// listenProblem says why s is not a usable host:port for node.listen, or
// returns "". An empty host means all interfaces, as in net.Listen.
func listenProblem(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf(`%q is not a host:port address; want for example "0.0.0.0:8888" or "[::]:8888"`, s)
	}
	if p := portProblem(s, port); p != "" {
		return p
	}
	if host != "" && !validHost(host) {
		return fmt.Sprintf("%q has an invalid host %q; want an IP address or a host name", s, host)
	}
	return ""
}

// apiListenProblem says why s is not a loopback IP:port, or returns "".
// The local API carries an access token, so it never listens beyond this
// machine; host names are refused because they may resolve elsewhere.
func apiListenProblem(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf(`%q is not an IP:port address; want a loopback address such as "127.0.0.1:9999"`, s)
	}
	if p := portProblem(s, port); p != "" {
		return p
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Sprintf(`%q is not a loopback address; the API must listen on 127.0.0.0/8 or [::1], for example "127.0.0.1:9999"`, s)
	}
	return ""
}

// portProblem checks a port; 0 (any free port) is allowed, which tests use.
func portProblem(addr, port string) string {
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("%q has an invalid port %q; want a number from 0 to 65535", addr, port)
	}
	return ""
}

// validHost accepts an IP address or a syntactically valid DNS name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if label++; label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0 || len(h) > 1 // a trailing dot is fine, "." alone is not
}
