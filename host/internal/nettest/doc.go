// Package nettest builds real nodes for benchmarks and tests: each with its
// own identity, in-memory store, firewall and transport-direct subprocess,
// listening on loopback, as node.Run wires them (without the local API).
//
// Build nodes with [NewNode], start them and make pairs of them contacts and
// connected with [Connect]. [Launch] starts any first-party plugin; each
// binary is built once per test binary: call [Cleanup] from TestMain to
// remove them.
package nettest
