// Package testnode makes node identities for the hub's tests the way
// host/internal/identity does (Ed25519 key, self-signed certificate with
// CN = node_id), loads the ones `dpc init` writes, and signs hub logins the
// way the host's Sign does. Tests only.
package testnode
