// Package sdk is everything a D-PC plugin author needs. A plugin is a small
// program whose main is a single call:
//
//	func main() {
//		sdk.Serve(&sdk.ServeOpts{LLM: &myllm.Plugin{}})
//	}
//
// Serve runs the plugin for the host, and answers --version when the binary
// is run by hand; it is the plugin's only entry point.
//
// Start with the interface for your kind — Transport, LLM, Backup or Hub —
// each of which embeds Plugin (Info, Configure, Shutdown). A kind's method
// takes its arguments in a request struct and gives its answer in a result
// struct (Backup.Put takes a PutRequest and returns a PutResult), so that
// fields can be added without breaking plugins. Optional features are small
// extra interfaces found by type assertion: Configurable (a config struct
// with defaults, whose `hcl` tags become the schema the host validates the
// user's `config { … }` block against), Pinger (a deeper health check),
// SignalHandler (signals routed from other plugins).
//
// Keep the configuration Configure receives in a Config[T], T being your
// config struct: Set takes it (checked, typed) together with the logger,
// Get hands both out to the other methods, safely under concurrency, and
// says ErrNotConfigured before Configure. Wrap the sentinel errors (ErrNotFound,
// ErrInvalidArgument, …) with %w: they cross to the host, which tests them
// with errors.Is; report a config problem with AttributeError so the host
// points the user at the line.
//
// # The SDK's packages
//
//   - sdk: the kind interfaces and their types, errors, Config, Serve.
//   - sdk/sdktest: runs a plugin in-process over real gRPC and has a
//     conformance suite every plugin should pass.
//   - sdk/schema: the config schema from `hcl` tags, and its decoding.
//   - sdk/dpcuri: node URIs (dpc://host:port?node_id=…) and addresses, for
//     transports: ParseAddress, CheckListenAddress, CheckDialAddress.
//   - sdk/promptctx: context blocks in prompts, for LLM plugins.
//   - sdk/llmhttp (and llmhttptest): the shared part of LLM plugins that
//     call an HTTP API.
//
// Not for plugin authors: sdk/pluginhost is the host's side (launching,
// dispensing and configuring plugins), built on sdk/internal/hostside and
// sdk/internal/wire. Package sdk holds the plugin side of the wire
// unexported, and no exported name of sdk mentions a generated (protobuf)
// or go-plugin type.
//
// What a plugin never gets: the node's private key (ask the host to sign
// through ConfigureRequest.Host), plaintext it has no business seeing, or the
// host's environment. A plugin must never write to stdout: it carries the
// go-plugin handshake. Log through the hclog.Logger in ConfigureRequest.
package sdk
