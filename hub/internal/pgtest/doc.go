// Package pgtest runs a throwaway PostgreSQL server for the hub's tests:
// a fresh cluster (initdb) in a temporary directory, started with pg_ctl
// on a free loopback port, stopped and removed when the test ends.
//
// PostgreSQL refuses to run as root, so under root the cluster belongs to
// the unprivileged user "nobody" and its binaries run as that user. The
// binaries are looked up on PATH, then in /usr/lib/postgresql/*/bin (where
// Debian's postgresql package puts them). Without them the tests skip,
// except under CI (CI set), where .ci/run installs them and their absence
// is a failure.
package pgtest
