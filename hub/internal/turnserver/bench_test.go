package turnserver

import (
	"bytes"
	"net"
	"testing"

	"github.com/dpc-go/dpc/hub/internal/turnserver/turntest"
)

// BenchmarkRelayRoundTrip measures a 1 KiB packet to a UDP echo peer and
// back through the hub's TURN relay (client → server → relay → peer and
// back), next to the same round trip straight to the echo peer.
func BenchmarkRelayRoundTrip(b *testing.B) {
	p := bytes.Repeat([]byte{'x'}, 1024)
	b.Run("raw UDP echo", func(b *testing.B) {
		peer := turntest.EchoPeer(b)
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		b.SetBytes(int64(2 * len(p)))
		for b.Loop() {
			if err := turntest.RoundTrip(conn, peer, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("through the TURN relay", func(b *testing.B) {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s, err := Start(Config{Conn: conn, PublicIP: net.IPv4(127, 0, 0, 1), Realm: "hub.bench", Secret: testSecret})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		c := s.Credentials(alice)
		relay, err := turntest.Allocate(b, conn.LocalAddr().String(), c.Username, c.Password)
		if err != nil {
			b.Fatal(err)
		}
		peer := turntest.EchoPeer(b)
		b.SetBytes(int64(2 * len(p)))
		for b.Loop() {
			if err := turntest.RoundTrip(relay, peer, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
