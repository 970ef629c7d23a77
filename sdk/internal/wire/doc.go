// Package wire is what both ends of the plugin connection share and what
// needs none of package sdk's types: the go-plugin handshake, the names the
// parts of a plugin are dispensed under, gRPC sizes, the mapping between
// the SDK's sentinel errors and gRPC status codes, and time conversions.
//
// The plugin side of the protocol (the gRPC servers Serve runs) lives in
// package sdk, unexported, because it needs sdk's types and Serve needs it;
// the host side lives in package sdk/internal/hostside, reached through
// sdk/pluginhost. Neither imports the other; both import this package.
package wire
