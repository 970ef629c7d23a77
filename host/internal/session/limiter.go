package session

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter rate-limits per source: a token bucket for each source IP (or,
// for a key that is not host:port, each key), forgotten once full again.
// For handshakes, each failure spends a token (Failed), and a source with
// no tokens left is refused before any TLS work (Allowed) until its bucket
// refills; successful handshakes cost nothing. Allow spends a token per
// request instead, for rate-limiting requests.
type Limiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	sources map[string]*rate.Limiter
	swept   time.Time
}

// NewLimiter allows burst failures at once, then one per every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{every: every, burst: burst, sources: map[string]*rate.Limiter{}}
}

// DefaultLimiter allows 5 failed handshakes, then one per 10 seconds.
func DefaultLimiter() *Limiter { return NewLimiter(10*time.Second, 5) }

// sourceKey is the IP of a transport address, or the address itself.
func sourceKey(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

func (l *Limiter) get(source string) *rate.Limiter {
	key := sourceKey(source)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget sources whose bucket is full again, so the map stays small.
	if now.Sub(l.swept) > time.Minute {
		for k, lim := range l.sources {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.sources, k)
			}
		}
		l.swept = now
	}
	lim, ok := l.sources[key]
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.sources[key] = lim
	}
	return lim
}

// Allowed tells whether a new handshake from source may start.
func (l *Limiter) Allowed(source string) bool { return l.get(source).Tokens() >= 1 }

// Failed records a failed handshake from source.
func (l *Limiter) Failed(source string) { l.get(source).Allow() }

// Allow spends one of source's tokens and reports whether it had one.
func (l *Limiter) Allow(source string) bool { return l.get(source).Allow() }
