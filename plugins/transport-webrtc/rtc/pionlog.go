package rtc

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/logging"
)

// pionLogs sends pion's logs to the plugin's hclog logger, under
// "pion.<scope>". pion logs transient trouble (a candidate that failed, a
// packet it could not handle) as errors and warnings that are normal on
// real networks, so they go to debug, the rest to trace.
type pionLogs struct{ log hclog.Logger }

// NewLogger implements logging.LoggerFactory.
func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.Named("pion." + scope)}
}

type pionLogger struct{ log hclog.Logger }

func (l pionLogger) Trace(msg string)                  { l.log.Trace(msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.log.Trace(fmt.Sprintf(format, args...)) }
func (l pionLogger) Debug(msg string)                  { l.log.Trace(msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.log.Trace(fmt.Sprintf(format, args...)) }
func (l pionLogger) Info(msg string)                   { l.log.Trace(msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.log.Trace(fmt.Sprintf(format, args...)) }
func (l pionLogger) Warn(msg string)                   { l.log.Debug(msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.log.Debug(fmt.Sprintf(format, args...)) }
func (l pionLogger) Error(msg string)                  { l.log.Debug(msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
