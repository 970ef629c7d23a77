// Package llmhttp is what LLM plugins that talk to an HTTP API have in
// common: loading an API key from the config, reading streamed answers
// (server-sent events and newline-delimited JSON), cutting off servers that
// hang, and turning failed responses into errors a user can act on.
//
// It is part of the SDK so that third-party plugins can use it too; it
// depends only on the standard library and the sdk package.
//
// # Keys
//
// A plugin's config has `api_key` (users write `api_key =
// env("OPENAI_API_KEY")`: the host evaluates env(), because plugin processes
// do not inherit the host's environment) and `api_key_file`. CheckKeyConfig
// belongs in the config's Validate method; LoadKey, in Configure, reads the
// file. A Key never prints its secret: %v, %+v and %#v show "[redacted]".
//
// # Config
//
// CheckBaseURL and CheckTimeout validate the usual attributes of such a
// plugin and return *sdk.ConfigError naming the attribute, so dpc points
// at its line; Seconds turns a timeout attribute into a time.Duration.
//
// # Requests and streams
//
// A Client sends requests to one base URL. Client.Stream returns a Stream
// whose NextEvent (SSE) or NextLine (NDJSON) reads the answer one event at a
// time, under two timeouts: FirstByteTimeout bounds the wait for the
// response headers and the first event, IdleTimeout the wait for each later
// event. Only time spent waiting for the server counts, not time spent in
// the caller between events. A server that accepts the connection and then
// says nothing is cut off with an error wrapping ErrTimeout.
//
// # Errors
//
// Every error the Client returns is an *Error with a message written for
// the user (prefixed with the plugin's name, never containing the key) and
// a Kind, one of the Err… sentinels of this package. Each sentinel wraps the
// sdk sentinel that carries its meaning across the plugin boundary
// (sdk.ErrUnavailable, sdk.ErrPermissionDenied, sdk.ErrNotFound,
// sdk.ErrInvalidArgument), so the host can still tell a server that is down
// from a rejected key. A cancelled context comes back as an error wrapping
// context.Canceled (or context.DeadlineExceeded).
package llmhttp
