// Package network is the core that connects this node to its peers. It
// listens on every running transport plugin, dials contacts from their
// cached addresses with exponential backoff, turns every transport
// connection into an authenticated session (package session), keeps one
// session per peer, records refused connections, bounds what strangers can
// make the node keep (StrangerLimits, strangers.go), and answers Connect,
// Remove, Accept and Peers.
//
// What travels over a session belongs to capability services above the
// core — chat (package chat), files (package files), context and
// inference (package intel), ping (package ping), introductions (package
// introductions) — which the node wires in. The core offers them:
//
//   - a Router: Handle[T] registers a handler for the command of payload
//     type T; the router decodes and validates each frame once and
//     answers an invalid payload with ERROR bad_request (a D-PC v1 peer
//     gets no answer), so a handler only ever sees valid payloads.
//     HandleV1 registers the D-PC v1 variant of a command whose shape
//     differs; Answer[T] routes answers to the request awaiting them.
//     HandleMailbox[T] registers a command a capability also takes from
//     the hub's mailbox (package mailbox), with the verified sender
//     instead of a session; no other command is accepted from there.
//   - Request and RequestOn: send a request and receive the answers that
//     carry its request_id, until done, the context ends or the session
//     does; an ERROR answer is a *PeerError.
//   - Hooks: what a service does when a session starts (Connected) or
//     ends (Disconnected), when a peer becomes a contact, when a contact
//     request is accepted, when a stranger is forgotten, and a loop of its
//     own (Run).
//   - NewOutbox: durable items a service wants delivered are sent once per
//     session, oldest first, from the service's OutboxSource, until the
//     service takes them out of its store.
//   - Session, SendTo, Wake, Check, Bus, Go: the peer's session, a frame to
//     it, a dial, a firewall decision, the event bus, a goroutine Stop
//     waits for.
//
// The core imports no service: services import it.
//
// # Adding a capability
//
// A capability (channels, a mailbox, backup-peer, hub signaling…) is a
// service package of its own; it never edits the core or another service.
// Package ping is the smallest real one; follow it:
//
//  1. Payloads: add the commands and their payload types, with Validate,
//     to package dptp (dptp/ping.go), register them in its decoder table,
//     document them in proto/dptp.md, and give each decoder a fuzz target
//     (FuzzDecodePing in dptp/fuzz_test.go).
//  2. Service: a package with a doc.go and a NewService(net, …) that
//     registers its commands before the network starts (below), and, if it
//     needs them, net.AddHooks(network.Hooks{…}) and net.NewOutbox(source).
//     Its store, if any, lives in its package. Methods for the API
//     (ping.Service.RTT) use net.Request or net.RequestOn.
//  3. API: one file in package api (api/ping.go) making an api.Routes.
//  4. Wiring: one line in package node builds the service, and its Routes
//     join the server's list; the CLI calls the route (dpc peers --rtt).
//  5. Tests: the service's own on nettest's nodes (nettest wires every
//     service as the node does), and an e2e test through the dpc binary.
//
// Registering PING and its answer is all the ping service does on the wire:
//
//	network.Handle(net.Router(), func(ctx context.Context, s *session.Session, p dptp.Ping) error {
//		return s.Send(dptp.CmdPong, dptp.Pong{RequestID: p.RequestID})
//	})
//	network.Answer[dptp.Pong](net)
package network
