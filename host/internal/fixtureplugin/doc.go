// Package fixtureplugin is a test fixture: an in-memory backup plugin used by
// the host's integration tests and benchmarks. Its config can make it crash
// during Configure, and it records each Configure and Shutdown as a line in
// <data_dir>/calls.log, so tests can see re-configuration after a restart
// and a graceful shutdown. LLM is a model that echoes the question, served
// by dpc-plugin-fixture-llm, for the benchmarks of the plugin path. It is
// never shipped.
package fixtureplugin
