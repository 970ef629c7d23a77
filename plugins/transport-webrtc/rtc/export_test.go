package rtc

import (
	"github.com/hashicorp/go-hclog"
	"github.com/pion/webrtc/v4"
)

// NewAPIForTest is the pion API the plugin uses for cfg, for benchmarks
// that compare raw pion with the same settings.
func NewAPIForTest(cfg *Config) (*webrtc.API, error) {
	eng, err := newEngine(cfg, hclog.NewNullLogger())
	if err != nil {
		return nil, err
	}
	return eng.api, nil
}
