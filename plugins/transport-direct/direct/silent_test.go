package direct_test

import (
	"net"
	"testing"
	"time"

	"github.com/dpc-go/dpc/plugins/transport-direct/direct"
)

// TestIdleFloodIsBounded is the connection flood at the transport: idle
// connections from one address beyond MaxSilentPerIP are closed, oldest
// first, while a connection from the same address that sent bytes stays
// open and keeps working.
func TestIdleFloodIsBounded(t *testing.T) {
	t.Parallel()
	p := newPlugin(t, testConfig())
	ln := listen(t, p)
	addr := ln.Addresses()[0]

	// The host's side: every accepted connection is read, as the plugin
	// boundary's pump does; the bytes read are reported.
	got := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go func() {
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						got <- string(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()

	real, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	if _, err := real.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "hello" {
		t.Fatalf("read %q, want hello", s)
	}

	const extra = 10
	closed := make(chan int, direct.MaxSilentPerIP+extra)
	for i := range direct.MaxSilentPerIP + extra {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		go func() {
			_, _ = c.Read(make([]byte, 1)) // returns when the plugin closes it
			closed <- i
		}()
	}
	for range extra {
		select {
		case i := <-closed:
			if i >= extra {
				t.Errorf("flood connection %d was closed; want only the %d oldest", i, extra)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the plugin kept %d idle connections from one address, want at most %d", direct.MaxSilentPerIP+extra, direct.MaxSilentPerIP)
		}
	}

	if _, err := real.Write([]byte("still here")); err != nil {
		t.Fatalf("the connection that spoke was closed: %v", err)
	}
	if s := <-got; s != "still here" {
		t.Fatalf("read %q, want \"still here\"", s)
	}
}
