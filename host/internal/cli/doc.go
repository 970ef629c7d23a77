// Package cli is the dpc command line: cobra commands for init, id, run and
// plugin management. Commands that need a running node talk to it through
// the local API (package api).
package cli
