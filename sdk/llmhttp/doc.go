// Package llmhttp is what LLM plugins that talk to an HTTP API have in
// common: loading an API key from the config, reading streamed answers
// (server-sent events and newline-delimited JSON), cutting off servers that
// hang, turning failed responses into errors a user can act on, and the
// parts of an sdk.LLM that do not depend on the API.
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
// CheckBaseURL, CheckModel and CheckTimeouts (CheckTimeout for one
// attribute) validate the usual attributes of such a plugin and return
// *sdk.ConfigError naming the attribute, so dpc points at its line; they
// return nil for a valid value, so a Validate method can join them with
// errors.Join. Seconds turns a timeout attribute into a time.Duration.
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
// # The plugin
//
// An HTTP LLM plugin keeps what its Configure sets up (its config, its
// Client, its logger: a Setup) in a Holder, whose zero value is ready, and
// gets it back in its other methods with Holder.Get, which says
// sdk.ErrNotConfigured before Configure; Holder.Close is its Shutdown.
// Configure starts with sdk.ConfigOf (the request's config as the plugin's own
// type, validated) and ends with WarnKeyInTheClear. Generate does the part
// of sdk.LLM's Generate that is the same for every API (the request, the
// loop over the stream, emit, the end of the stream, the logs); the plugin
// gives it the request body and an Answer, which decodes the API's pieces
// of an answer. The plugin's own code is then its API: endpoints, request
// bodies, the decoding of an answer and of a model list.
//
// Package llmhttptest has the fakes and the shared test suite for such
// plugins.
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
