package direct

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// Dial connects to the peer at req.URI over TCP. The timeout is
// req.Timeout, or `dial_timeout_ms` when that is zero; ctx can cut it
// shorter. A peer that refuses, does not answer in time or cannot be
// reached is reported as sdk.ErrUnavailable, naming the address.
func (p *Plugin) Dial(ctx context.Context, req sdk.DialRequest) (sdk.Conn, error) {
	st, err := p.configured()
	if err != nil {
		return nil, err
	}
	addr, err := ParseURI(req.URI)
	if err != nil {
		return nil, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = st.cfg.dialTimeout()
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: st.cfg.keepAlive()}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if cerr := contextError(ctx); cerr != nil {
			return nil, fmt.Errorf("%s: dial %s: %w", pluginName, addr, cerr)
		}
		reason := err
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			reason = op.Err
		}
		st.logger.Debug("dial failed", "address", addr, "timeout", timeout.String(), "error", err)
		return nil, fmt.Errorf("%s: %w: cannot connect to %s (timeout %s): %w", pluginName, sdk.ErrUnavailable, addr, timeout, reason)
	}
	c, err := p.newConn(nc.(*net.TCPConn), nil)
	if err != nil {
		return nil, err
	}
	st.logger.Debug("dialed", "address", addr, "local_address", c.LocalAddress(), "expected_node_id", req.ExpectedNodeID)
	return c, nil
}

// contextError is ctx's error, or context.DeadlineExceeded once ctx's
// deadline has passed even if its timer has not fired yet (the dialer's own
// timer for the same deadline may fire first).
func contextError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// ParseURI returns the host:port address to dial for a dpc:// URI such as
// "dpc://198.51.100.7:8888?node_id=…", "dpc://[2001:db8::7]" or
// "dpc://peer.example.org:9000". The port defaults to DefaultPort; IPv6
// addresses must be in brackets; the query is allowed and ignored. Anything
// else (another scheme, a path, user information, a fragment, a bad host
// or port) is an error wrapping sdk.ErrInvalidArgument and ErrInvalidURI.
func ParseURI(uri string) (string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %w %q: %s", pluginName, sdk.ErrInvalidArgument, ErrInvalidURI, uri, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(uri)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", bad("%v", err)
	}
	switch {
	case u.Scheme != "dpc":
		return "", bad("want a dpc://host:port URI, got the scheme %q", u.Scheme)
	case u.Opaque != "" || u.Host == "":
		return "", bad("want dpc://host:port")
	case u.User != nil:
		return "", bad("user information is not allowed")
	case u.Path != "" || u.RawPath != "":
		return "", bad("want no path after host:port, got %q", u.Path)
	case u.Fragment != "" || strings.HasSuffix(uri, "#"):
		return "", bad("a fragment is not allowed")
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return "", bad("malformed query: %v", err)
	}
	host := u.Hostname()
	bracketed := strings.HasPrefix(u.Host, "[")
	switch {
	case host == "":
		return "", bad("no host")
	case strings.Contains(host, ":") && !bracketed:
		return "", bad("an IPv6 address must be in brackets, e.g. dpc://[2001:db8::7]:%d", DefaultPort)
	case !validHost(host):
		return "", bad("invalid host %q; want an IP address or a host name", host)
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return "", bad("%s is a wildcard address, not a peer", host)
	}
	port := u.Port()
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return "", bad("empty port")
		}
		port = strconv.Itoa(DefaultPort)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", bad("invalid port %q; want a number from 1 to 65535", port)
	}
	return net.JoinHostPort(host, port), nil
}
