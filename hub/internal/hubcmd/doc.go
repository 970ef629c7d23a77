// Package hubcmd is the dpc-hub command line: it parses the operator's
// flags, binds the listening sockets first (HTTP, and with --turn the TURN
// server's UDP port, so a taken address fails at once), opens the data dir
// (store, token secret, TURN secret) and runs the server, and the TURN
// server, until SIGINT or SIGTERM.
package hubcmd
