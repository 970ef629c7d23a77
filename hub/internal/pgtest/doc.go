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
//
// New gives a test its own cluster (one it may Stop, Kill and Start);
// Shared gives every test of a package one cluster (TestMain runs the
// tests with Main, which removes it), on which each test takes fresh
// databases. AddPasswordUser makes the cluster check passwords, for tests
// of refused logins.
package pgtest
