package plugins

import (
	"path/filepath"

	"github.com/hashicorp/go-hclog"
)

// go-plugin re-logs each line a plugin writes to stderr (the plugin's hclog
// output, as JSON) through its logger's Named(<binary file name>), with the
// plugin's own time added as a "timestamp" field. The host's logger already
// names the plugin and stamps each line, so bridgeLogger keeps the binary's
// name out and drops that second timestamp: a plugin line reads
// "dpc.plugin.<name>: message: fields".
type bridgeLogger struct {
	hclog.Logger
	binary string // the file name go-plugin names the stderr logger after
}

// newBridgeLogger wraps log for the plugin binary at path.
func newBridgeLogger(log hclog.Logger, path string) hclog.Logger {
	if log == nil {
		return nil // go-plugin makes its own
	}
	return bridgeLogger{Logger: log, binary: filepath.Base(path)}
}

// Named returns the logger for the plugin's stderr when asked for the
// binary's name, and the usual named logger otherwise.
func (l bridgeLogger) Named(name string) hclog.Logger {
	if name == l.binary {
		return stderrLogger{l.Logger}
	}
	return bridgeLogger{Logger: l.Logger.Named(name), binary: l.binary}
}

// stderrLogger logs a plugin's own lines without their "timestamp" field.
type stderrLogger struct{ hclog.Logger }

func (l stderrLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, msg, withoutTimestamp(args)...)
}
func (l stderrLogger) Trace(msg string, args ...any) { l.Logger.Trace(msg, withoutTimestamp(args)...) }
func (l stderrLogger) Debug(msg string, args ...any) { l.Logger.Debug(msg, withoutTimestamp(args)...) }
func (l stderrLogger) Info(msg string, args ...any)  { l.Logger.Info(msg, withoutTimestamp(args)...) }
func (l stderrLogger) Warn(msg string, args ...any)  { l.Logger.Warn(msg, withoutTimestamp(args)...) }
func (l stderrLogger) Error(msg string, args ...any) { l.Logger.Error(msg, withoutTimestamp(args)...) }

// withoutTimestamp removes the "timestamp" key and its value from
// key/value pairs.
func withoutTimestamp(args []any) []any {
	out := make([]any, 0, len(args))
	for i := 0; i < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == "timestamp" && i+1 < len(args) {
			continue
		}
		out = append(out, args[i])
		if i+1 < len(args) {
			out = append(out, args[i+1])
		}
	}
	return out
}
