// Package plugins finds, verifies, launches and supervises plugin
// subprocesses.
//
// Lifecycle of a configured plugin: Discover finds its binary (in
// $DPC_HOME/plugins, then in plugins/ next to the dpc binary); its sha256 is
// checked against dpc.lock.hcl before launch and again by go-plugin at exec
// (SecureConfig); Launch starts it with gRPC only, AutoMTLS, an allow-listed
// environment, Pdeathsig (no orphans if the host is SIGKILLed) and its log
// bridged into hclog under its name; the host fingerprints it (GetInfo),
// checks the negotiated API version, validates the user's config block
// against the schema it declares, and configures it. The Manager then
// supervises it: health pings, restart with exponential backoff, a
// crash-loop cap, re-configuration after every restart, and graceful
// shutdown.
package plugins
