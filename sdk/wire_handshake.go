package sdk

import (
	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
)

// Handshake is the go-plugin handshake. The cookie is a UX check (it stops a
// user from running a plugin binary by hand), not a security measure; never
// change it, or every existing plugin stops loading.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "DPC_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "dpc-plugin-v1-7f3c1e9a",
}

// Names under which the parts of a plugin are dispensed.
const (
	nameBase = "base"
)

// serverSet is the plugin-side set for impl, which implements the kind's
// interface. Every plugin serves "base" plus its kind.
func serverSet(kind Kind, impl Plugin, logger hclog.Logger) plugin.PluginSet {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Debug})
	}
	set := plugin.PluginSet{nameBase: &basePlugin{Impl: impl, Kind: kind, Logger: logger}}
	switch kind {
	case KindTransport:
		set[string(kind)] = &transportPlugin{Impl: impl.(Transport)}
	case KindLLM:
		set[string(kind)] = &llmPlugin{Impl: impl.(LLM)}
	case KindBackup:
		set[string(kind)] = &backupPlugin{Impl: impl.(Backup)}
	case KindHub:
		set[string(kind)] = &hubPlugin{Impl: impl.(Hub)}
	}
	return set
}

// clientSet is the host-side set: it can dispense base and every kind.
func clientSet() plugin.PluginSet {
	return plugin.PluginSet{
		nameBase:              &basePlugin{},
		string(KindTransport): &transportPlugin{},
		string(KindLLM):       &llmPlugin{},
		string(KindBackup):    &backupPlugin{},
		string(KindHub):       &hubPlugin{},
	}
}

// versionedClientSets maps each API version the host speaks to its set.
func versionedClientSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{APIVersion: clientSet()}
}
