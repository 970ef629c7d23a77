// Package sdk is everything a D-PC plugin author needs. A plugin is a small
// program whose main is a single call:
//
//	func main() {
//		sdk.Serve(&sdk.ServeOpts{LLM: &myllm.Plugin{}})
//	}
//
// Start with the interface for your kind — Transport, LLM, Backup or Hub —
// each of which embeds Plugin (Info, Configure, Shutdown). Optional features
// are small extra interfaces found by type assertion: Configurable (a config
// struct with defaults, whose `hcl` tags become the schema the host validates
// the user's `config { … }` block against), Pinger (a deeper health check),
// SignalHandler (signals routed from other plugins).
//
// Test your plugin with package sdktest: it runs the plugin in-process over
// real gRPC and has a conformance suite every plugin should pass.
//
// What a plugin never gets: the node's private key (ask the host to sign
// through ConfigureRequest.Host), plaintext it has no business seeing, or the
// host's environment. A plugin must never write to stdout: it carries the
// go-plugin handshake. Log through the hclog.Logger in ConfigureRequest.
package sdk
