package dpcuri

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// ErrInvalidAddress is matched (errors.Is) by every *AddressError.
var ErrInvalidAddress = errors.New("invalid address")

// AddressError says in words what is wrong with a host:port address, for
// a user to read: its message quotes the address and says what to write.
type AddressError struct {
	Address string
	Problem string
}

func (e *AddressError) Error() string { return e.Problem }

// Unwrap makes an AddressError match ErrInvalidAddress.
func (e *AddressError) Unwrap() error { return ErrInvalidAddress }

func addressError(addr, format string, args ...any) error {
	return &AddressError{Address: addr, Problem: fmt.Sprintf(format, args...)}
}

// ValidHost reports whether h is an IP address (IPv6 without brackets,
// possibly with a zone) or a syntactically valid DNS name: labels of
// letters, digits and '-' of 1 to 63 characters, 253 at most in all, and
// an optional trailing dot.
func ValidHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return hostNameProblem(h) == nil
}

// hostNameProblem says why h is not a DNS host name, or returns nil.
func hostNameProblem(h string) error {
	if len(h) > 253 {
		return errors.New("host name longer than 253 characters")
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			// A trailing dot is fine ("example.org."), "." alone and
			// empty labels are not.
			if label == 0 {
				return fmt.Errorf("bad host name %q", h)
			}
			label = 0
		case c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if label++; label > 63 {
				return fmt.Errorf("bad host name %q: a label is longer than 63 characters", h)
			}
		default:
			return fmt.Errorf("bad character %q in host name %q", rune(c), h)
		}
	}
	if len(h) == 0 {
		return errors.New("empty host name")
	}
	return nil
}

// CheckListenAddress checks a host:port address to listen on, such as
// "0.0.0.0:8888" or "[::]:8888": an empty host means every interface and
// port 0 any free port, as in net.Listen. The error is an *AddressError.
func CheckListenAddress(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return addressError(s, `%q is not a host:port address; want for example "0.0.0.0:8888" or "[::]:8888"`, s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return addressError(s, "%q has an invalid port %q; want a number from 0 to 65535", s, port)
	}
	if host != "" && !ValidHost(host) {
		return addressError(s, "%q has an invalid host %q; want an IP address or a host name", s, host)
	}
	return nil
}

// CheckDialAddress checks a host:port address peers could dial, such as
// an address advertised behind NAT: it names a host, not a wildcard, and a
// port from 1 to 65535. The error is an *AddressError.
func CheckDialAddress(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return addressError(s, `%q is not a host:port address; want for example "198.51.100.7:8888" or "[2001:db8::7]:8888"`, s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return addressError(s, "%q has an invalid port %q; want a number from 1 to 65535", s, port)
	}
	if host == "" || !ValidHost(host) {
		return addressError(s, "%q has an invalid host %q; want an IP address or a host name", s, host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return addressError(s, "%q is a wildcard address that peers cannot dial; want this node's public address", s)
	}
	return nil
}
