package direct

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
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
// "dpc://peer.example.org:9000", parsed by dpcuri.ParseAddress: the port
// defaults to DefaultPort, IPv6 addresses must be in brackets, and the
// query is allowed and ignored. Anything else (another scheme, a path, user
// information, a fragment, a bad host or port, a wildcard address) is an
// error wrapping sdk.ErrInvalidArgument and ErrInvalidURI.
func ParseURI(uri string) (string, error) {
	a, err := dpcuri.ParseAddress(uri)
	if err != nil {
		return "", fmt.Errorf("%s: %w: %w", pluginName, sdk.ErrInvalidArgument, err)
	}
	return a.String(), nil
}
