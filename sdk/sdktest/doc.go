// Package sdktest tests D-PC plugins in-process over real gRPC: New serves a
// plugin through go-plugin's test connection and hands back the host-side
// client, so every call crosses the same wire path as in production without
// building a binary. Conformance runs the checks every plugin should pass.
//
//	func TestConformance(t *testing.T) {
//		sdktest.Conformance(t, func() sdk.Plugin { return &myplugin.Plugin{} }, sdktest.Options{})
//	}
package sdktest
