// Package dpcv1ref is a reference D-PC Messenger v0.27 Direct-TLS peer,
// written in Go from the facts document reference/dpc-legacy-wire.md, for
// tests only; not part of the product.
//
// It plays the part of an existing Python D-PC node the way net/http/httptest
// plays an HTTP server: tests start one with [Listen], point our node at it
// (or have it [Peer.Dial] our node), and look at what crossed the wire with
// [Peer.Received], [Peer.WaitFor] and [Peer.Rejected]. It is deliberately
// independent of our own implementation: it imports nothing from
// host/internal/session, network or dptp, and re-implements the identity,
// framing and handshake from the facts, so that it is a second opinion and
// not a mirror.
//
// What it reproduces (section numbers are those of dpc-legacy-wire.md):
//
//   - Identity (§4.2): RSA-2048 keys, the self-signed certificate with only
//     CN=<node_id> and a critical BasicConstraints CA:TRUE, and node_id =
//     "dpc-node-" + hex(sha256(SPKI PEM))[:32]. See [NewIdentity], [NodeID].
//   - TLS (§4.1): the server requests no client certificate and sets no ALPN;
//     the client skips verification and checks only CN == expected node_id.
//   - Framing (§4.3): a 10-digit zero-padded decimal length and UTF-8 JSON,
//     written in Python's json.dumps style (", " and ": " separators, ASCII
//     only). See [WriteFrame], [ReadFrame], [PythonJSON].
//   - Handshake (§4.4, §4.5): HELLO_CHALLENGE → HELLO → HELLO_ACK with an
//     RSA-PSS (SHA-256, MGF1-SHA-256, maximum salt) signature over the raw
//     nonce, verified leniently (cryptography 48) or strictly (salt exactly
//     222 bytes, cryptography 38) per [Options.StrictSalt].
//   - After the handshake (§4.6): every frame is handled in its own goroutine,
//     so replies can come back out of order; the few commands a test needs are
//     answered with the shapes of dpc-messenger-facts.md §2.4; unknown
//     commands and non-object frames are logged and ignored.
//   - Hazards (§5): the failed-HELLO rate limit (§5.1), the duplicate-connection
//     behaviour (§5.2), the dialler's bare TCP pre-flight connect (§5.3) and,
//     with [Options.Unsolicited], the unsolicited traffic of the full client.
//     As in Python, where asyncio.start_server(ssl=…) completes TLS before it
//     calls the connection handler, a connection that never completes TLS
//     (such as the pre-flight connect) is not a failed handshake; one that
//     completes TLS and then sends no valid HELLO is.
//
// Where the Python node has no limit this package sets a generous one so that
// tests cannot hang or allocate absurdly: frames are capped at [MaxFrameSize].
// Everything ends with [Peer.Close]; tests should register it with t.Cleanup.
package dpcv1ref
