// Package hubcmd is the dpc-hub command line: it parses the operator's
// flags, binds the listening socket first (so a taken address fails at
// once), opens the data dir (store and token secret) and runs the server
// until SIGINT or SIGTERM.
package hubcmd
