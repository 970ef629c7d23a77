// Package e2e holds end-to-end tests that build the real dpc binary and
// plugin binaries and drive them as a user would: separate processes, a
// throwaway data directory each, signals and all.
package e2e
