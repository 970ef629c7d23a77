package llmhttptest

import (
	"bytes"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Logs collects what a logger writes, for a test to search. It is safe for
// concurrent use: a plugin logs from its own goroutines.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns all that was written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// NewLogger returns a logger named name that writes every level, Trace
// included, to the returned Logs: what a test does not find there, no
// level of the plugin's log would show.
func NewLogger(name string) (hclog.Logger, *Logs) {
	logs := &Logs{}
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: logs, Level: hclog.Trace}), logs
}
