// Package api is the node's local HTTP API: served by `dpc run` on a
// loopback address, authenticated by a bearer token stored 0600 in the data
// directory, and used by the dpc CLI (and later the web UI). The address a
// running node actually bound is written next to the token, so clients find
// it even when the configured port was 0.
package api
