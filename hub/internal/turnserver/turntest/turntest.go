package turntest

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

// WaitLimit bounds a wait for a packet: long, because a loaded 2-core
// machine is slow; a passing test never waits it.
const WaitLimit = time.Minute

// Allocate makes a UDP allocation at server (host:port) with a credential;
// the relay and its client close when the test ends.
func Allocate(t testing.TB, server, username, password string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("client socket: %v", err)
	}
	// A long retransmission timeout: on a loaded machine the default 200 ms
	// resends requests the server has not yet answered, and tests count
	// what the server saw. Loopback does not lose packets.
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: server, TURNServerAddr: server,
		Username: username, Password: password, Conn: conn, RTO: 5 * time.Second})
	if err != nil {
		_ = conn.Close()
		t.Fatalf("TURN client: %v", err)
	}
	if err := c.Listen(); err != nil {
		c.Close()
		_ = conn.Close()
		t.Fatalf("TURN client listen: %v", err)
	}
	relay, err := c.Allocate()
	if err != nil {
		c.Close()
		_ = conn.Close()
		return nil, fmt.Errorf("allocate at %s: %w", server, err)
	}
	t.Cleanup(func() {
		_ = relay.Close()
		c.Close()
		_ = conn.Close()
	})
	return relay, nil
}

// EchoPeer answers every UDP packet on 127.0.0.1 with itself, until the
// test ends.
func EchoPeer(t testing.TB) *net.UDPAddr {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("echo peer: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return conn.LocalAddr().(*net.UDPAddr)
}

// ErrNoEcho: the echo did not come back through the relay.
var ErrNoEcho = errors.New("no echo through the relay")

// RoundTrip sends p through relay to an echo peer and waits for it to come
// back.
func RoundTrip(relay net.PacketConn, peer net.Addr, p []byte) error {
	if _, err := relay.WriteTo(p, peer); err != nil {
		return fmt.Errorf("send through the relay: %w", err)
	}
	if err := relay.SetReadDeadline(time.Now().Add(WaitLimit)); err != nil {
		return err
	}
	buf := make([]byte, len(p)+1)
	n, from, err := relay.ReadFrom(buf)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoEcho, err)
	}
	if from.String() != peer.String() || string(buf[:n]) != string(p) {
		return fmt.Errorf("%w: got %d bytes from %s", ErrNoEcho, n, from)
	}
	return nil
}
