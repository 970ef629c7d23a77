// Command dpc-plugin-transport-webrtc is D-PC's first-party WebRTC
// transport plugin: it reaches peers by node_id alone, signaling through the
// hub, and carries the host's connections over a WebRTC data channel. The
// host starts it; run by hand, it only prints its version (--version).
package main

import (
	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{Transport: &rtc.Plugin{}})
}
