// Package rtc is a D-PC transport plugin that reaches peers by node_id
// alone and carries connections over WebRTC data channels (pion/webrtc).
// Start with Plugin (sdk.Transport, sdk.SignalHandler, sdk.Configurable)
// and Config (its `config {}` block). The wire contract is
// proto/webrtc.md.
//
// A transport is an untrusted byte pipe: this plugin moves bytes only. It
// does no authentication, because the host runs mutual TLS 1.3 over every
// connection it gets from a transport and verifies the peer's node_id
// itself. The hub that relays the signaling is untrusted too: a swapped
// answer only makes the host's TLS handshake fail.
//
// # Signaling
//
// Dial makes a peer connection and the `dpc` data channel, and sends the
// offer and its ICE candidates (trickled) as signals to sdk.SignalViaHub
// for the peer's node_id. The peer's transport gets them through
// HandleSignal, answers, trickles its own candidates back, and once the
// data channel opens hands the connection to its Listener. A connection is
// named by a random cid; the answering side keys it by (peer, cid). Every
// payload from the hub is checked by decodeSignal (bounded sizes, strict
// cid); a bad one is dropped and logged, one for an unknown cid ignored.
//
// Incoming offers not yet accepted by the host are bounded per peer
// (`max_pending_per_peer`) and in all (`max_pending`); an offer past the bound, or
// while not listening, is refused with webrtc-close, and refusals beyond a
// small queue are dropped, so a flood costs bounded memory.
//
// # Data channel
//
// The channel is detached with blocking writes: Write sends messages of at
// most MaxMessage bytes and blocks while SCTP's window is full; Read takes
// one message at a time into a MaxMessage buffer, so SCTP's receive window
// is the only buffer. The text message "close-write" is the half-close.
// Every connection opens its own UDP sockets, with big kernel buffers: the
// defaults drop packets at loopback speed. (A shared ICE UDP mux cannot
// carry two connections between the same two sockets.)
//
// # Path loss
//
// When ICE reports the path disconnected or failed after the channel
// opened, the dialing side sends ICE-restart offers (same cid,
// restart: true) with fresh ICE servers every few seconds; after
// `reconnect_timeout_ms` without a path either side closes the
// connection with ErrPathLost, and the host redials.
package rtc
