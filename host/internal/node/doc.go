// Package node runs the D-PC host daemon: it loads the identity, opens the
// store, starts and supervises the configured plugins and serves the local
// API until its context ends, then shuts everything down in reverse order.
package node
