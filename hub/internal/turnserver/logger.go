package turnserver

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/logging"
)

// loggerFactory gives pion/turn hclog loggers named after its scopes.
// pion logs per-packet events at Info (a packet from a peer without
// permission) and a client's failed send at Error: anyone on the internet
// can cause them, so they go to Debug and Warn, not flood the log.
type loggerFactory struct{ log hclog.Logger }

func (f loggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return leveled{f.log.Named(scope)}
}

type leveled struct{ log hclog.Logger }

func (l leveled) Trace(msg string)                  { l.log.Trace(msg) }
func (l leveled) Tracef(format string, args ...any) { l.log.Trace(fmt.Sprintf(format, args...)) }
func (l leveled) Debug(msg string)                  { l.log.Debug(msg) }
func (l leveled) Debugf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l leveled) Info(msg string)                   { l.log.Debug(msg) }
func (l leveled) Infof(format string, args ...any)  { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l leveled) Warn(msg string)                   { l.log.Warn(msg) }
func (l leveled) Warnf(format string, args ...any)  { l.log.Warn(fmt.Sprintf(format, args...)) }
func (l leveled) Error(msg string)                  { l.log.Warn(msg) }
func (l leveled) Errorf(format string, args ...any) { l.log.Warn(fmt.Sprintf(format, args...)) }
