package direct

import (
	"net"
	"sync"
	"time"
)

// Bounds on accepted connections that have not sent a byte yet ("silent").
// A real peer sends its TLS ClientHello as soon as it connects, so these
// only ever hold idle connections — a flood, say — which would otherwise
// pin a goroutine, a read buffer and a stream to the host each, forever.
const (
	// FirstByteTimeout is how long an accepted connection may stay silent
	// before the plugin closes it.
	FirstByteTimeout = 10 * time.Second
	// MaxSilent is how many accepted connections may be silent at once;
	// at the bound the oldest silent one is closed.
	MaxSilent = 256
	// MaxSilentPerIP is how many of them may come from one IP address; at
	// the bound that address's oldest silent one is closed.
	MaxSilentPerIP = 64
)

// silent tracks a listener's silent connections, oldest first per source.
type silent struct {
	max, perIP int

	mu      sync.Mutex
	count   int
	sources map[string][]*conn
}

func newSilent(max, perIP int) *silent {
	return &silent{max: max, perIP: perIP, sources: map[string][]*conn{}}
}

// sourceIP is the IP part of a TCP address.
func sourceIP(c *net.TCPConn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// add tracks c until it sends its first byte or closes, closing an older
// silent connection if a bound is reached: from c's source if that source
// is at its bound, else from the source with the most.
func (s *silent) add(c *conn) {
	_ = c.tc.SetReadDeadline(time.Now().Add(FirstByteTimeout))
	src := c.source
	s.mu.Lock()
	var victim *conn
	switch {
	case len(s.sources[src]) >= s.perIP:
		victim = s.sources[src][0]
	case s.count >= s.max:
		busiest := ""
		for k, cs := range s.sources {
			if len(cs) > len(s.sources[busiest]) {
				busiest = k
			}
		}
		victim = s.sources[busiest][0]
	}
	if victim != nil {
		s.removeLocked(victim)
	}
	s.sources[src] = append(s.sources[src], c)
	s.count++
	s.mu.Unlock()
	if victim != nil {
		_ = victim.Close()
	}
}

// heard takes c out of the silent set and lifts its first-byte deadline.
func (s *silent) heard(c *conn) {
	s.mu.Lock()
	tracked := s.removeLocked(c)
	s.mu.Unlock()
	if tracked {
		_ = c.tc.SetReadDeadline(time.Time{})
	}
}

// forget takes c out of the silent set (it closed).
func (s *silent) forget(c *conn) {
	s.mu.Lock()
	s.removeLocked(c)
	s.mu.Unlock()
}

// removeLocked removes c and reports whether it was tracked.
func (s *silent) removeLocked(c *conn) bool {
	cs := s.sources[c.source]
	for i, x := range cs {
		if x == c {
			cs = append(cs[:i:i], cs[i+1:]...)
			if len(cs) == 0 {
				delete(s.sources, c.source)
			} else {
				s.sources[c.source] = cs
			}
			s.count--
			return true
		}
	}
	return false
}
