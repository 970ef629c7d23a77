// Package direct is a D-PC transport plugin that carries connections over
// plain TCP. Start with Plugin (the sdk.Transport implementation) and Config
// (its `config {}` block).
//
// A transport is an untrusted byte pipe: this plugin moves bytes only. It
// does no TLS and checks no identity, because the host runs mutual TLS 1.3
// over every connection it gets from a transport and verifies the peer's
// node_id itself. The plugin therefore only ever sees ciphertext and the
// addresses of the two ends; it never sees the node key or any plaintext.
//
// # URIs
//
// Peers are reached at URIs of the form
//
//	dpc://HOST[:PORT][?node_id=…]
//
// HOST is an IPv4 address, an IPv6 address in brackets or a DNS name; PORT
// defaults to DefaultPort (8888). The query (the node_id the host expects)
// is the host's business and is ignored here. ParseURI turns a URI into the
// address Dial connects to.
//
// # Listening
//
// Listen binds every address of the request, or of the configured `listen`
// list when the request names none, and merges them into one Accept stream.
// Binding is all or nothing: if one address fails, the ones already bound
// are closed again and the error names the address.
//
// An IPv6 wildcard address such as "[::]:8888" normally accepts IPv4
// connections too (dual stack). When the same list also holds an IPv4
// address with the same port, as the default "0.0.0.0:8888" and
// "[::]:8888" do, the IPv6 wildcard listener is made IPv6-only (the
// IPV6_V6ONLY socket option) so that both can bind the port; each family is
// then served by its own listener. An IPv4 wildcard ("0.0.0.0:8888") is
// always IPv4 only, unlike with net.Listen("tcp", …), which binds it as a
// dual-stack IPv6 socket. An empty host (":8888") binds like net.Listen
// does: dual stack where the system supports it.
//
// Listener.URIs reports a dpc:// URI per bound address. A wildcard address
// is expanded to this machine's interface addresses of the families it
// accepts, leaving out link-local ones and listing loopback last. When
// `advertise` is set (behind NAT, say), it is reported instead.
//
// # Lifetime
//
// Every listener and connection the plugin creates is tracked; Shutdown
// closes them all, after which Listen and Dial fail with
// sdk.ErrNotConfigured until the next Configure. TCP keepalive
// (`keepalive_seconds`) is set on every dialed and accepted connection.
//
// An accepted connection that has sent no byte yet is "silent": it is closed
// after FirstByteTimeout, and at most MaxSilentPerIP per IP address and
// MaxSilent in all are kept, the oldest silent one closed at a bound. A real
// peer's TLS ClientHello arrives at once, so a flood of idle connections
// pins bounded memory and cannot push a real peer out.
package direct
