// Package hostside is the host's end of the plugin protocol: gRPC clients
// that implement the sdk kind interfaces (sdk.Transport, sdk.LLM, …) over a
// plugin connection, and the server of the host's callback service
// (sdk.Host). The host reaches it through package sdk/pluginhost; plugin
// authors never see it.
package hostside
