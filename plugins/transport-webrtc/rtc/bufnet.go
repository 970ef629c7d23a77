package rtc

import (
	"net"

	"github.com/pion/transport/v5"
)

// bufNet is the system network with big kernel buffers on every UDP socket
// pion opens (host candidates, TURN client sockets): the defaults drop
// packets at loopback and LAN speed and SCTP then halves its window
// (stack-notes §5). Each peer connection gets sockets of its own: a
// shared ICE UDP mux cannot tell apart two connections between the same
// two sockets once ICE is done (it routes DTLS by remote address).
type bufNet struct {
	transport.Net
	size int
}

// bufferSetter is what *net.UDPConn offers beyond transport.UDPConn.
type bufferSetter interface {
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
}

func (n bufNet) setBuffers(c any) {
	if bs, ok := c.(bufferSetter); ok && n.size > 0 {
		// The kernel caps the size at net.core.rmem_max/wmem_max; a
		// smaller buffer than asked is still the best there is.
		_ = bs.SetReadBuffer(n.size)
		_ = bs.SetWriteBuffer(n.size)
	}
}

// ListenUDP opens a UDP socket with big buffers.
func (n bufNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		n.setBuffers(c)
	}
	return c, err
}

// ListenPacket opens a packet socket with big buffers.
func (n bufNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err == nil {
		n.setBuffers(c)
	}
	return c, err
}
