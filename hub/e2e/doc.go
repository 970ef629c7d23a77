// Package e2e runs the real dpc-hub binary on loopback: a node identity
// made by the real `dpc init` logs in with its key, signals, publishes and
// is found, and a logout survives a restart of the hub process.
package e2e
