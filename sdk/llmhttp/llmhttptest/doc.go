// Package llmhttptest helps test LLM plugins built on package llmhttp, as
// net/http/httptest helps test HTTP code: it is a normal package, imported
// only by tests.
//
// # Fake APIs
//
// A Server is a local fake of a plugin's API. It records every request
// (Requests, Last), routes requests by method and path to handlers the test
// can replace at any time (Handle), and can refuse requests first (Check:
// a wrong key, a missing header). Handlers come from:
//
//   - Format.Stream and Format.File: an answer streamed one piece per write,
//     flushed, as SSE events or NDJSON lines, from strings or from a
//     recorded testdata file;
//   - Format.Drop: an answer whose connection breaks in the middle;
//   - HangAfter (and Hang): a server that stops sending and holds the
//     connection open until the client gives up or the test ends;
//   - JSON and JSONFile: a JSON response with any status.
//
// ClosedURL is a URL at which nothing listens, SilentServer one that
// accepts connections and never answers.
//
// # Logs
//
// NewLogger returns an hclog logger at Trace level whose output a test can
// search (Logs.String), to check that no level of the log carries an API
// key, a prompt or an answer.
//
// # The suite
//
// Suite runs the checks every HTTP LLM plugin should pass, given an Adapter
// that tells it how to configure the plugin, how to start a fake of its API
// and what a piece of its answer looks like: sdktest.Conformance; recorded
// answers; the shape of the request and the privacy of the logs; failures
// (a server that is down, silent, stops, breaks off or ends early, and the
// API's own errors), each with its message, its sdk sentinel over gRPC and
// its llmhttp kind in process; cancellation; an emit error; a wrong or
// missing key; and config validation. Each API's own data (recorded
// streams, request bodies, its error bodies) stays in the plugin's tests,
// in the Adapter's tables:
//
//	func TestSuite(t *testing.T) {
//		llmhttptest.Suite(t, llmhttptest.Adapter{
//			Name:        myplugin.Name,
//			New:         func() sdk.LLM { return &myplugin.Plugin{} },
//			Config:      func(s llmhttptest.Settings) any { … },
//			Server:      newFake,
//			StreamRoute: "POST /v1/chat",
//			Format:      llmhttptest.SSE,
//			Partial:     `data: {"text":"Hel"}` + "\n\n",
//			…
//		})
//	}
package llmhttptest
