package server

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterKeys bounds how many clients one keyed limiter tracks.
const maxLimiterKeys = 100_000

// keyedLimiter is a token bucket per client key (an IP or a node_id): n
// requests per period, up to n at once.
type keyedLimiter struct {
	class string
	limit rate.Limit
	burst int
	// full is how long an idle bucket takes to refill: after that it is the
	// same as a new one and can be forgotten.
	full time.Duration

	mu sync.Mutex
	m  map[string]*limEntry
}

type limEntry struct {
	l    *rate.Limiter
	last time.Time
}

func newKeyedLimiter(class string, n int, per time.Duration) *keyedLimiter {
	if n <= 0 {
		return nil // unlimited
	}
	return &keyedLimiter{
		class: class,
		limit: rate.Limit(float64(n) / per.Seconds()),
		burst: n,
		full:  per,
		m:     make(map[string]*limEntry),
	}
}

// allow takes one token for key; when there is none it returns how long
// until there will be one.
func (k *keyedLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if k == nil {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[key]
	if !ok {
		if len(k.m) >= maxLimiterKeys {
			k.sweep(now)
		}
		e = &limEntry{l: rate.NewLimiter(k.limit, k.burst)}
		k.m[key] = e
	}
	e.last = now
	r := e.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets buckets idle long enough to be full again; if every client
// is active it starts over rather than grow without bound.
func (k *keyedLimiter) sweep(now time.Time) {
	for key, e := range k.m {
		if now.Sub(e.last) > k.full {
			delete(k.m, key)
		}
	}
	if len(k.m) >= maxLimiterKeys {
		clear(k.m)
	}
}

// retryAfterSeconds rounds a delay up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// tooMany answers 429 with Retry-After.
func (s *Server) tooMany(w http.ResponseWriter, class string, d time.Duration) {
	s.metrics.rateLimited.WithLabelValues(class).Inc()
	secs := retryAfterSeconds(d)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", "too many "+class+" requests from this client; retry in "+strconv.Itoa(secs)+"s")
}
