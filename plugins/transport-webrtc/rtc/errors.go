package rtc

import "errors"

var (
	// ErrInvalidSignal means a signal from the hub does not follow
	// proto/webrtc.md; it is dropped and logged.
	ErrInvalidSignal = errors.New("invalid webrtc signal")
	// ErrClosedByPeer means the peer closed the connection (webrtc-close,
	// or its data channel closed) before ending its direction with
	// close-write.
	ErrClosedByPeer = errors.New("connection closed by the peer")
	// ErrRateLimited means a signal came too soon after the last one of its
	// kind (an ICE restart offer) and was ignored.
	ErrRateLimited = errors.New("signal rate limited")
	// ErrPathLost means the connection's network path failed and an ICE
	// restart did not bring it back in time.
	ErrPathLost = errors.New("network path lost")
)
