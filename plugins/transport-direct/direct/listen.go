package direct

import (
	"context"
	"errors"
	"fmt"
	"github.com/hashicorp/go-hclog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// maxAcceptBackoff caps the pause after a failed Accept (out of file
// descriptors, say) before the listener tries again.
const maxAcceptBackoff = time.Second

// Listen binds every address of req, or the configured `listen` list when
// req names none, and returns one listener accepting on all of them. See
// the package documentation for dual-stack binding and URIs.
func (p *Plugin) Listen(ctx context.Context, req sdk.ListenRequest) (sdk.Listener, error) {
	st, err := p.configured()
	if err != nil {
		return nil, err
	}
	addrs := req.Addresses
	if len(addrs) == 0 {
		addrs = st.cfg.Listen
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s: %w: no address to listen on", pluginName, sdk.ErrInvalidArgument)
	}
	for _, a := range addrs {
		if err := dpcuri.CheckListenAddress(a); err != nil {
			return nil, fmt.Errorf("%s: %w: %w: %w", pluginName, sdk.ErrInvalidArgument, ErrInvalidAddress, err)
		}
	}

	l := &listener{p: p, log: st.logger, conns: make(chan *conn), done: make(chan struct{}),
		silent: newSilent(MaxSilent, MaxSilentPerIP)}
	v6only := ipv6OnlyWildcards(addrs)
	for i, a := range addrs {
		lc := net.ListenConfig{KeepAlive: st.cfg.keepAlive()}
		if v6only[i] {
			lc.Control = setIPv6Only
		}
		ln, err := lc.Listen(ctx, listenNetwork(a), a)
		if err != nil {
			l.closeAll()
			return nil, fmt.Errorf("%s: listen on %s: %w", pluginName, a, err)
		}
		l.lns = append(l.lns, ln)
		l.addrs = append(l.addrs, ln.Addr().String())
		l.dual = append(l.dual, !v6only[i])
	}
	if len(st.cfg.Advertise) > 0 {
		for _, a := range st.cfg.Advertise {
			l.uris = append(l.uris, "dpc://"+a)
		}
	} else {
		l.uris = l.boundURIs(interfaceAddrs(st.logger))
	}
	if !p.trackListener(l) {
		l.closeAll()
		return nil, fmt.Errorf("%s: %w: shut down", pluginName, sdk.ErrNotConfigured)
	}
	for _, ln := range l.lns {
		l.wg.Add(1)
		go l.acceptLoop(ln)
	}
	st.logger.Info("listening", "addresses", l.addrs, "uris", l.uris)
	return l, nil
}

// ipv6OnlyWildcards reports, for each address, whether it is an IPv6
// wildcard ("[::]:P") that must be IPv6-only because the list also holds an
// IPv4 address on the same port P, which a dual-stack listener would
// collide with.
func ipv6OnlyWildcards(addrs []string) []bool {
	v4ports := map[string]bool{}
	for _, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			v4ports[port] = true
		}
	}
	out := make([]bool, len(addrs))
	for i, a := range addrs {
		host, port, _ := net.SplitHostPort(a)
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && ip.IsUnspecified() && v4ports[port] {
			out[i] = true
		}
	}
	return out
}

// listenNetwork is the network to bind a with. An IPv4 address gets
// "tcp4": with plain "tcp", Go binds a wildcard "0.0.0.0" as a dual-stack
// IPv6 socket, which would take the IPv6 port as well. Everything else gets
// "tcp", so that "[::]" is dual stack unless made IPv6-only.
func listenNetwork(a string) string {
	host, _, _ := net.SplitHostPort(a)
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return "tcp4"
	}
	return "tcp"
}

// interfaceAddrs returns this machine's interface addresses.
func interfaceAddrs(log hclog.Logger) []netip.Addr {
	raw, err := net.InterfaceAddrs()
	if err != nil {
		log.Warn("cannot list the interface addresses; wildcard listeners get no URIs", "error", err)
		return nil
	}
	var out []netip.Addr
	for _, a := range raw {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out
}

// listener accepts on one or more TCP listeners.
type listener struct {
	p     *Plugin
	log   hclog.Logger
	lns   []net.Listener
	addrs []string
	// dual[i] says whether an IPv6 wildcard lns[i] also accepts IPv4.
	dual []bool
	uris []string
	// silent bounds the accepted connections that sent nothing yet.
	silent *silent

	conns     chan *conn
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// boundURIs returns a dpc:// URI per bound address, expanding wildcard
// addresses to the interface addresses ifaces of the families they accept,
// without link-local addresses and with loopback ones last.
func (l *listener) boundURIs(ifaces []netip.Addr) []string {
	var uris, loopback []string
	seen := map[string]bool{}
	add := func(ip netip.Addr, port uint16) {
		u := uriFor(ip, port)
		if seen[u] {
			return
		}
		seen[u] = true
		if ip.IsLoopback() {
			loopback = append(loopback, u)
		} else {
			uris = append(uris, u)
		}
	}
	for i, ln := range l.lns {
		ap := ln.Addr().(*net.TCPAddr).AddrPort()
		ip := ap.Addr().Unmap()
		if !ip.IsUnspecified() {
			add(ip, ap.Port())
			continue
		}
		want4 := ip.Is4() || l.dual[i]
		want6 := ip.Is6()
		for _, a := range ifaces {
			if a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() {
				continue
			}
			if (a.Is4() && want4) || (a.Is6() && want6) {
				add(a, ap.Port())
			}
		}
	}
	return append(uris, loopback...)
}

// uriFor is the dpc:// URI of ip and port; an IPv6 zone is escaped as the
// URI syntax requires ("%25").
func uriFor(ip netip.Addr, port uint16) string {
	host := ip.WithZone("").String()
	if z := ip.Zone(); z != "" {
		host += "%25" + z
	}
	return "dpc://" + net.JoinHostPort(host, strconv.Itoa(int(port)))
}

func (l *listener) acceptLoop(ln net.Listener) {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			l.log.Warn("accept failed; retrying", "address", ln.Addr().String(), "error", err, "retry_in", backoff.String())
			select {
			case <-time.After(backoff):
				continue
			case <-l.done:
				return
			}
		}
		backoff = 0
		c, err := l.p.newConn(nc.(*net.TCPConn), l.silent)
		if err != nil {
			continue // shut down: Shutdown closes this listener too
		}
		l.silent.add(c)
		l.log.Debug("accepted a connection", "local_address", c.LocalAddress(), "remote_address", c.RemoteAddress())
		select {
		case l.conns <- c:
		case <-l.done:
			_ = c.Close()
			return
		}
	}
}

// Accept returns the next connection from any of the addresses. After
// Close it returns an error wrapping net.ErrClosed.
func (l *listener) Accept() (sdk.Conn, error) {
	select {
	case <-l.done:
		return nil, l.closedError()
	default:
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.closedError()
	}
}

func (l *listener) closedError() error {
	return fmt.Errorf("%s: listener on %s: %w", pluginName, strings.Join(l.addrs, ", "), net.ErrClosed)
}

// Addresses reports the addresses actually bound, with the real ports.
func (l *listener) Addresses() []string { return slices.Clone(l.addrs) }

// URIs reports where peers can reach this listener: the `advertise` list
// if set, else the bound addresses with wildcards expanded.
func (l *listener) URIs() []string { return slices.Clone(l.uris) }

// Close stops every address and makes Accept return an error. Connections
// already accepted stay open.
func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.closeAll()
		l.wg.Wait()
		l.p.forgetListener(l)
		l.log.Info("stopped listening", "addresses", l.addrs)
	})
	return nil
}

// closeAll closes the bound listeners.
func (l *listener) closeAll() {
	for _, ln := range l.lns {
		_ = ln.Close()
	}
}
