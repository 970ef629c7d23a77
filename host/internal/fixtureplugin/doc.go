// Package fixtureplugin is a test fixture: an in-memory backup plugin used by
// the host's integration tests and benchmarks. Its config can make it crash
// during Configure, and it records each Configure and Shutdown as a line in
// <data_dir>/calls.log, so tests can see re-configuration after a restart
// and a graceful shutdown. It is never shipped.
package fixtureplugin
