// Package hubdpc is D-PC's hub connector plugin for dpc-hub (hub/API.md).
// Start with Plugin (the sdk.Hub implementation) and Config (its
// `config {}` block: the hub's url).
//
// # Login without a key
//
// The plugin never holds the node key. Login asks the hub for a challenge,
// builds the signed data with sdk/hublogin (bound to the hub's URL, the
// node_id and the nonce) and asks the host to sign it
// (Host.Sign(ctx, sdk.PurposeHubLogin, data)); the hub answers with an
// access token and a refresh token.
//
// # Tokens and sessions
//
// Tokens live in the plugin's memory. The hub rotates the refresh token on
// every use and revokes the whole login when a spent one comes back, so
// refreshes are serialised and each new refresh token is stored at once and
// handed to the host (Host.SaveHubSession) as the session it keeps for
// Resume. An access token that is about to expire, or that the hub refuses,
// is refreshed before the request or socket that needs it. A refresh token
// the hub refuses ends the login: the host is told (an empty session and a
// hub.session_ended event) and must Login again.
//
// # Signaling
//
// dpc-hub keeps one signaling socket per node, so Signals holds the socket
// and SendSignal writes to it. A lost socket is reopened with exponential
// backoff and full jitter; the host sees hub.connected and
// hub.disconnected events, and the node shows online on the hub while the
// socket is open. A socket replaced by a newer connection of the same node
// ends Signals instead of fighting over the node. A hub replica that shuts
// down sends {"type":"reconnect","retry_after_ms":N} and closes with 1012:
// the plugin then reconnects after a random wait in [0, min(N, 30 s)],
// reported at info level and not counted as a failure (no backoff growth).
//
// # Linked accounts
//
// Accounts, LinkAccount and UnlinkAccount follow the hub's OAuth contract
// (GET /oauth/providers, GET /accounts, POST /oauth/link, DELETE
// /accounts/{provider}). The link address goes to the user's browser, so
// one that is not http(s) on the hub's own origin is refused. A hub
// without OAuth answers errors wrapping sdk.ErrUnsupported. A hub that
// requires a linked account (403 account_required) refuses most calls,
// Signals included, with an error wrapping sdk.ErrPermissionDenied that
// says to run dpc hub link PROVIDER; Signals then ends, so that the host
// shows why instead of the plugin retrying.
//
// # TURN credentials
//
// IceServers asks the hub for its TURN server and a short-lived credential
// of this node (GET /ice-servers, hub/API.md). The answer is kept while at
// least half its lifetime remains and forgotten when the login ends (the
// hub revokes the credentials of a login that logs out). A hub that runs
// no TURN server answers an error wrapping sdk.ErrUnsupported.
//
// # Mailbox
//
// MailboxPut, MailboxFetch and MailboxAck store, fetch and delete sealed
// envelopes at the hub (POST /mailbox/{node_id}, GET /mailbox, POST
// /mailbox/ack); the envelope is opaque bytes to the plugin and the hub.
// When an envelope arrives for this node, the hub sends {"type":"mailbox"}
// on the signaling socket and Signals passes it on as an
// sdk.IncomingSignal of Type sdk.SignalTypeMailbox with no sender. A hub
// without a mailbox answers errors wrapping sdk.ErrUnsupported.
package hubdpc
