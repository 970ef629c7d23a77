// Package hubsvc is the host side of a federation hub: it keeps the hub
// plugin's login across restarts and tells whether the node is reachable
// through the hub.
//
// Sessions: the hub plugin hands its login state (an opaque sdk.HubSession,
// for hub-dpc its refresh token) to the host after every change; the
// service keeps only the latest one in the store, sealed with AES-256-GCM
// under a key derived with HKDF-SHA256 from the node's private key, the
// plugin's id as associated data (a session sealed for one plugin does not
// open for another). The key never leaves the host. A session is kept until
// its own expiry (the refresh token's), not a fixed time.
//
// At start, a cached session is Resumed. A new login happens only when the
// user runs `dpc hub login`: a session the hub refuses leaves the node
// logged out, and Status says why. While the hub cannot be reached, the
// service keeps trying to resume, and the status is hub_offline.
//
// Status follows the plugin's events: hub.connected (online),
// hub.disconnected (hub_offline, the plugin reconnects by itself) and
// hub.session_ended (offline). While logged in, the service keeps the
// plugin's Signals stream running (the plugin reports presence through it).
// A "mailbox" signal on it is the hub's hint that an envelope arrived: it
// goes to Options.Mailbox (package mailbox fetches), never to a transport;
// the same hook runs whenever the node comes online. MailboxPut, Fetch and
// Ack reach the hub only while logged in.
// Direct peer sessions do not depend on any of this.
//
// Accounts: a hub may require an identity-provider account linked to the
// node (an extra fact about it; the node still logs in with its key). Its
// refusal of the stream shows as the status' reason, with what to run;
// once Accounts (which dpc hub link polls) sees a linked account, the
// stream is tried again at once.
package hubsvc
