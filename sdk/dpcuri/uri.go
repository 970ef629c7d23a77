package dpcuri

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// NodeIDPrefix starts every node_id.
const NodeIDPrefix = "dpc-node-"

// nodeIDHexLen is how many hex digits of the key hash a node_id carries.
const nodeIDHexLen = 32

// ErrInvalidURI is returned by Parse for anything that is not a well-formed
// dpc:// URI.
var ErrInvalidURI = errors.New("invalid dpc URI")

// DefaultPort is the DPTP port used when a dpc:// URI has none.
const DefaultPort = 8888

// URIScheme is the scheme of node URIs.
const URIScheme = "dpc"

// URI is a parsed node address: dpc://host:port?node_id=dpc-node-<32 hex>.
type URI struct {
	// Host is a DNS name (lower case) or an IP address (IPv6 without brackets,
	// possibly with a zone).
	Host string
	// Port is 1..65535.
	Port int
	// NodeID is the node_id the peer must prove with its certificate.
	NodeID string
}

// ValidNodeID reports whether s is "dpc-node-" followed by exactly 32
// lower-case hex characters.
func ValidNodeID(s string) bool {
	if len(s) != len(NodeIDPrefix)+nodeIDHexLen || !strings.HasPrefix(s, NodeIDPrefix) {
		return false
	}
	for _, c := range s[len(NodeIDPrefix):] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Parse parses "dpc://host[:port]?node_id=dpc-node-<32 hex>". The port
// defaults to DefaultPort; an IPv6 host must be in brackets. User info, a
// path, a fragment and query parameters other than one node_id are rejected.
func Parse(s string) (URI, error) {
	a, q, err := parse(s, "dpc://host:port?node_id=...")
	if err != nil {
		return URI{}, err
	}
	bad := func(format string, args ...any) (URI, error) {
		return URI{}, fmt.Errorf("%w %q: %s", ErrInvalidURI, s, fmt.Sprintf(format, args...))
	}
	ids, present := q["node_id"]
	if !present {
		return bad("missing node_id (want ?node_id=dpc-node-<32 hex>)")
	}
	if len(ids) != 1 {
		return bad("node_id given %d times", len(ids))
	}
	if len(q) != 1 {
		for k := range q {
			if k != "node_id" {
				return bad("unknown query parameter %q (only node_id is allowed)", k)
			}
		}
	}
	if !ValidNodeID(ids[0]) {
		return bad("malformed node_id %q (want dpc-node- followed by 32 lower-case hex characters)", ids[0])
	}
	return URI{Host: a.Host, Port: a.Port, NodeID: ids[0]}, nil
}

// Address is where a node listens, without its identity: what a transport
// dials.
type Address struct {
	// Host is a DNS name (lower case) or an IP address (IPv6 without
	// brackets, possibly with a zone).
	Host string
	// Port is 1..65535.
	Port int
}

// String returns host:port, with an IPv6 host in brackets.
func (a Address) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// WithNodeID returns the node URI of a for the node nodeID.
func (a Address) WithNodeID(nodeID string) URI {
	return URI{Host: a.Host, Port: a.Port, NodeID: nodeID}
}

// ParseAddress parses a dpc:// URI for dialing, such as
// "dpc://198.51.100.7:8888?node_id=…", "dpc://[2001:db8::7]" or
// "dpc://peer.example.org:9000", under the rules of Parse except that the
// query is not interpreted: node_id may be absent, as in the URIs a
// transport reports for its listeners (the host, not the transport, checks
// a peer's identity). A wildcard address (0.0.0.0, [::]) is rejected: it
// names no peer. Errors wrap ErrInvalidURI.
func ParseAddress(s string) (Address, error) {
	a, _, err := parse(s, "dpc://host:port")
	if err != nil {
		return Address{}, err
	}
	if ip, err := netip.ParseAddr(a.Host); err == nil && ip.IsUnspecified() {
		return Address{}, fmt.Errorf("%w %q: %s is a wildcard address, not a peer", ErrInvalidURI, s, a.Host)
	}
	return a, nil
}

// parse checks everything of a dpc:// URI but its query, which it returns
// parsed; usage is the form an error shows.
func parse(s, usage string) (Address, url.Values, error) {
	bad := func(format string, args ...any) (Address, url.Values, error) {
		return Address{}, nil, fmt.Errorf("%w %q: %s", ErrInvalidURI, s, fmt.Sprintf(format, args...))
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad("want %s", usage)
	}
	if !strings.EqualFold(scheme, URIScheme) {
		return bad("scheme is %q, want %q (%s)", scheme, URIScheme, usage)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return bad("contains white space")
	}
	if strings.Contains(rest, "#") {
		return bad("fragment (#...) not allowed")
	}
	authority := rest
	if i := strings.IndexAny(authority, "/?"); i >= 0 {
		authority = authority[:i]
	}
	if strings.Contains(authority, "@") {
		return bad("user information (user@) not allowed")
	}
	if !strings.HasPrefix(authority, "[") && strings.Count(authority, ":") > 1 {
		return bad("an IPv6 address must be in brackets, like dpc://[::1]:%d", DefaultPort)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(err.Error(), "invalid port") {
			_, port, _ := strings.Cut(authority[strings.LastIndex(authority, "]")+1:], ":")
			return bad("bad port %q (want 1-65535)", port)
		}
		if strings.HasPrefix(authority, "[") {
			return bad("bad IPv6 address: %v", err)
		}
		return bad("%v", err)
	}
	if u.User != nil {
		return bad("user information (user@) not allowed")
	}
	if u.Path != "" || u.RawPath != "" {
		return bad("path %q not allowed after host:port", u.Path)
	}
	if u.Opaque != "" {
		return bad("want %s", usage)
	}

	// Host and port.
	hostport := u.Host
	if hostport == "" {
		return bad("missing host")
	}
	host, portStr := u.Hostname(), u.Port()
	bracketed := strings.HasPrefix(hostport, "[")
	if strings.HasSuffix(hostport, ":") {
		return bad("empty port after ':'")
	}
	port := DefaultPort
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return bad("bad port %q (want 1-65535)", portStr)
		}
		port = p
	}
	if host == "" {
		return bad("missing host")
	}
	canonHost, err := canonicalHost(host, bracketed)
	if err != nil {
		return bad("%v", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("bad query: %v", err)
	}
	return Address{Host: canonHost, Port: port}, q, nil
}

// canonicalHost validates a host name or IP address and returns its
// canonical form (lower-case name, normalised IP).
func canonicalHost(host string, bracketed bool) (string, error) {
	if bracketed {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() {
			return "", fmt.Errorf("bad IPv6 address [%s]", host)
		}
		return addr.String(), nil
	}
	if strings.Contains(host, ":") {
		return "", fmt.Errorf("IPv6 address %q must be in brackets: dpc://[%s]:%d", host, host, DefaultPort)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.String(), nil
	}
	if err := hostNameProblem(host); err != nil {
		return "", err
	}
	return strings.ToLower(host), nil
}

// String returns the canonical form dpc://host:port?node_id=..., with an
// IPv6 host in brackets and the port always written.
func (u URI) String() string {
	v := url.URL{
		Scheme:   URIScheme,
		Host:     net.JoinHostPort(u.Host, strconv.Itoa(u.Port)),
		RawQuery: "node_id=" + url.QueryEscape(u.NodeID),
	}
	return v.String()
}
