// Package api is the node's local HTTP API, served by `dpc run` on a Unix
// socket in the data directory ($DPC_HOME/api.sock, 0600, for the dpc CLI)
// and on a loopback TCP address (for the web UI, package webui). A request
// proves itself with the bearer token stored 0600 in the data directory and
// made anew at every start, or, on the TCP address only, with a browser
// session opened by a one-time login link (`dpc ui`, see browser.go). The
// CLI uses only the socket and checks that the process serving it runs as
// the same user before it sends the token, so a program that took the TCP
// port while the node was stopped never sees it.
package api
