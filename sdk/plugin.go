package sdk

import (
	"context"

	"github.com/hashicorp/go-hclog"
)

// APIVersion is the plugin API major this SDK speaks. The host and plugin
// negotiate it at launch; a breaking contract change gets a new major.
const APIVersion = 1

// SDKVersion is reported by every plugin built with this SDK.
const SDKVersion = "0.1.0"

// Kind is what a plugin does.
type Kind string

// The plugin kinds.
const (
	KindTransport Kind = "transport"
	KindLLM       Kind = "llm"
	KindBackup    Kind = "backup"
	KindHub       Kind = "hub"
)

// Kinds lists every plugin kind, in a stable order.
var Kinds = []Kind{KindTransport, KindLLM, KindBackup, KindHub}

// Info describes a plugin. The SDK fills in Kind, APIVersions and SDKVersion.
type Info struct {
	// Name is the plugin's short name, the <name> in dpc-plugin-<name>.
	Name string
	// Version is the plugin's own semantic version, e.g. "0.3.1".
	Version string
	// Description is one line shown by `dpc plugin list`.
	Description string
	// Capabilities names optional, kind-specific features.
	Capabilities []string

	Kind        Kind
	APIVersions []int
	SDKVersion  string
}

// Plugin is the part every plugin implements, whatever its kind. A plugin's
// zero value and constructor must have no side effects: the work starts in
// Configure, and Shutdown must cope with a Configure that failed halfway.
type Plugin interface {
	Info() Info
	// Configure is called once after launch, and again after every restart.
	Configure(ctx context.Context, req ConfigureRequest) error
	// Shutdown releases everything; the process exits right after.
	Shutdown(ctx context.Context) error
}

// ConfigureRequest is what the host hands a plugin at configure time.
type ConfigureRequest struct {
	// Config is the decoded `config { … }` block: a pointer of the type
	// Configurable.DefaultConfig returns, defaults filled in, then the user's
	// values on top. Nil for plugins that are not Configurable. (A host-side
	// caller may also pass raw JSON as json.RawMessage.)
	Config any
	// Host reaches back into the host: signatures, identity, signals, events.
	Host Host
	// NodeID is the host's verified node_id.
	NodeID string
	// DataDir is a directory reserved for this plugin's own state.
	DataDir string
	// APIVersion is the negotiated plugin API major.
	APIVersion int
	// Logger is named after the plugin; its output lands in the host's log.
	Logger hclog.Logger
}

// Log returns the request's logger, or a logger that discards everything
// when a caller (a test calling Configure directly) set none. Serve always
// sets one.
func (r ConfigureRequest) Log() hclog.Logger {
	if r.Logger == nil {
		return hclog.NewNullLogger()
	}
	return r.Logger
}

// Configurable is implemented by plugins that take configuration.
type Configurable interface {
	// DefaultConfig returns a pointer to a new config struct with defaults
	// filled in. Fields with `hcl:"name"` tags are required attributes,
	// `hcl:"name,optional"` optional ones, `hcl:"name,block"` nested blocks;
	// a `help:"…"` tag documents a field and `sensitive:"true"` keeps its
	// value out of logs. If the struct has a `Validate() error` method, it is
	// called after decoding.
	DefaultConfig() any
}

// Pinger is implemented by plugins with a deeper health check than "the
// process answers". The host calls it periodically.
type Pinger interface {
	Ping(ctx context.Context) error
}

// SignalHandler is implemented by plugins that accept signals routed by the
// host from other plugins (e.g. WebRTC offers received by a hub connector).
type SignalHandler interface {
	HandleSignal(ctx context.Context, s Signal) error
}

// Signal is an opaque message between two plugins of one host, or, with
// To set to SignalViaHub, between a transport and its counterpart on another
// node, carried by the node's hub.
type Signal struct {
	// From is "<kind>/<name>" of the sender, set by the host; SignalViaHub
	// for a signal that came through the hub.
	From string
	// To is "<kind>/<name>" of the target plugin, or SignalViaHub.
	To   string
	Type string
	// Payload travelling via the hub must be a JSON object (hubs relay JSON).
	Payload []byte
	// PeerNodeID is the other node: the target of a signal sent via the hub,
	// or the sender the hub claims for one received (a claim, not a proof:
	// the host's TLS checks identity end to end).
	PeerNodeID string
}

// SignalViaHub as Signal.To asks the host to send the signal through the
// hub the node is logged in to, to node PeerNodeID; only transports may.
// On that node the host hands it to every transport with the
// CapabilityDialByNodeID capability, with From set to SignalViaHub.
const SignalViaHub = "hub"

// CapabilityDialByNodeID (in Info.Capabilities) marks a transport that
// reaches a peer by node_id alone, through signaling via the hub (WebRTC):
// the host dials it with an empty DialRequest.URI, after the direct paths,
// and routes the signals that arrive through the hub to it.
const CapabilityDialByNodeID = "dial-by-node-id"

// KindOf says which kind impl implements ("" if none, or more than one).
func KindOf(impl Plugin) Kind {
	var kinds []Kind
	if _, ok := impl.(Transport); ok {
		kinds = append(kinds, KindTransport)
	}
	if _, ok := impl.(LLM); ok {
		kinds = append(kinds, KindLLM)
	}
	if _, ok := impl.(Backup); ok {
		kinds = append(kinds, KindBackup)
	}
	if _, ok := impl.(Hub); ok {
		kinds = append(kinds, KindHub)
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}
