// Package auth is the hub's key login and its tokens.
//
// Login (sdk/hublogin): the hub issues a single-use nonce that expires
// (stored, so a restart or a second replica does not forget it); the node
// answers with its node_id, certificate and the host's signature over the
// hub's canonical URL, node_id and nonce. The hub derives the node_id from
// the certificate's key, never from its CN.
//
// Tokens: a short-lived access JWT (HS256 only, iss = aud = the hub's URL,
// sub = node_id, typ = "access", sid = the refresh family) and an opaque
// refresh token stored only as its SHA-256. Every refresh rotates the token;
// presenting a rotated one again revokes the whole family (someone holds a
// copy). Logout revokes the family in the store, so the access token and
// every refresh token of that login stay dead across restarts.
package auth
