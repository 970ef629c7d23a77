// Package oidctest runs a real OpenID Connect provider (the npm package
// oidc-provider, in ../testdata/oidcprovider) for tests, and a browser-like
// HTTP client that walks its login and consent pages by submitting their
// real forms, one asserted hop at a time.
package oidctest
