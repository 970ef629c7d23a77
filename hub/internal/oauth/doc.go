// Package oauth links identity-provider accounts (GitHub, Google, any
// OpenID Connect provider) to the nodes of a dpc-hub.
//
// A node always logs in with its key; an account is an extra fact about
// it. The node asks for a link ticket (POST /oauth/link), the user's
// browser takes it to GET /oauth/{provider}/start, which creates one flow
// (state, PKCE verifier, OIDC nonce, a browser-binding cookie) and sends
// the browser to the provider; the provider sends it back to the callback,
// which takes the state once, exchanges the code with the verifier,
// verifies the ID token (or reads the GitHub user) and links the account.
//
// Tickets, states and nonces are bearer values: the store keeps their
// SHA-256 only, each is single-use and expires. The PKCE verifier is kept
// sealed (AES-GCM) under a key derived from the browser-binding cookie, so
// the store holds no usable secret of a flow. Providers are configured
// in an HCL file (LoadConfig); client secrets come from files of mode 0600.
// OIDC discovery is lazy: a provider that is down when the hub starts is
// discovered on its first use, and again on the next one after a failure.
package oauth
