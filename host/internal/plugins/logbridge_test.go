package plugins

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// lockedBuffer is written by go-plugin's stderr goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPluginLogLinesNameThePluginOnceWithoutASecondTimestamp(t *testing.T) {
	t.Parallel()
	sum, err := FileSHA256(fixtureBin.Path)
	if err != nil {
		t.Fatal(err)
	}
	var buf lockedBuffer
	log := hclog.New(&hclog.LoggerOptions{Name: "dpc", Level: hclog.Debug, Output: &buf}).Named("fixture")
	// At debug level the plugin's go-plugin server logs its address on
	// its stderr, which go-plugin relays into log.
	inst, err := Launch(context.Background(), LaunchOptions{Binary: fixtureBin, SHA256: sum, Logger: log, LogLevel: hclog.Debug})
	if err != nil {
		t.Fatal(err)
	}
	inst.Stop(context.Background()) // waits for the stderr relay to finish
	var relayed []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "plugin address") {
			relayed = append(relayed, line)
		}
	}
	if len(relayed) == 0 {
		t.Fatalf("want the plugin's own \"plugin address\" line relayed, got:\n%s", buf.String())
	}
	for _, line := range relayed {
		if !strings.Contains(line, " dpc.fixture: plugin address") {
			t.Errorf("want the line named dpc.fixture, got %q", line)
		}
		if strings.Contains(line, BinaryPrefix) {
			t.Errorf("want the plugin named once, not again by its binary, got %q", line)
		}
		if strings.Contains(line, "timestamp=") {
			t.Errorf("want no second timestamp, got %q", line)
		}
	}
}

func TestWithoutTimestamp(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in, want []any
	}{
		"timestamp last":  {in: []any{"a", 1, "timestamp", "t"}, want: []any{"a", 1}},
		"timestamp first": {in: []any{"timestamp", "t", "b", 2}, want: []any{"b", 2}},
		"no timestamp":    {in: []any{"a", 1}, want: []any{"a", 1}},
		"a dangling key":  {in: []any{"a", 1, "timestamp"}, want: []any{"a", 1, "timestamp"}},
		"empty":           {in: nil, want: []any{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := withoutTimestamp(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("want %v, got %v", tc.want, got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("want %v, got %v", tc.want, got)
				}
			}
		})
	}
}
