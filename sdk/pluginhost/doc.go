// Package pluginhost is the host's side of the D-PC plugin protocol: what
// the dpc host (and sdk/sdktest) use to launch, fingerprint, configure and
// call plugins. Plugin authors do not need it; they use package sdk.
//
// A host starts a plugin binary with go-plugin, using Handshake and
// PluginSets, then calls Dispense on the connection: it fingerprints the
// plugin (GetInfo) and returns a *Client whose kind field (Transport, LLM,
// Backup or Hub) implements the same sdk interface the plugin's author
// implemented, over gRPC. Configure a plugin with Client.ConfigureRaw and
// turn the diagnostics it returns into an error with DiagnosticsError.
package pluginhost
