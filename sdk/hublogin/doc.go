// Package hublogin is the key login between a node and a D-PC hub, shared by
// the hub (which verifies) and hub connector plugins (which build the data the
// host signs). No account is needed: a node proves it holds the key its
// node_id is derived from.
//
// The flow: the hub issues a single-use nonce with an expiry; the connector
// builds [Data] for the hub's canonical URL (its audience), its own node_id
// and that nonce, and asks the host to sign it with
// Host.Sign(ctx, sdk.PurposeHubLogin, data); the hub rebuilds the same bytes
// and checks the signature with [Verify].
//
// # The signed bytes
//
// data is, byte for byte:
//
//	"dpc-hub-login/v1" 0x00
//	u16be(len(hub_url)) hub_url     canonical URL, see CanonicalURL
//	u16be(len(node_id)) node_id     "dpc-node-" + 32 lower-case hex
//	u16be(len(nonce))   nonce       the hub's nonce, base64url without padding
//
// and the node key signs "dpc-plugin-signature/v1" 0x00 "hub-login/v1" 0x00
// data (see sdk/nodeid). Binding the hub's URL means a hub that relays its
// challenge to another hub gets a signature the other hub refuses; binding
// the nonce makes each signature single-use; binding the node_id means a
// signature cannot be presented for another identity.
package hublogin
