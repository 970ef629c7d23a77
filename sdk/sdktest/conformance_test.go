package sdktest_test

import (
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		newImpl func() sdk.Plugin
		opts    sdktest.Options
	}{
		"backup in memory": {newImpl: func() sdk.Plugin { return &memBackup{} }},
		"echo llm":         {newImpl: func() sdk.Plugin { return &echoLLM{} }},
		"tcp transport":    {newImpl: func() sdk.Plugin { return &tcpTransport{} }},
		"tcp transport with explicit config": {
			newImpl: func() sdk.Plugin { return &tcpTransport{} },
			opts: sdktest.Options{Config: func(testing.TB) any {
				return &tcpConfig{Listen: []string{"127.0.0.1:0"}, DialTimeoutMS: 1000}
			}},
		},
		"hub": {newImpl: func() sdk.Plugin { return &mockHub{} }},
		"configurable hub": {
			newImpl: func() sdk.Plugin { return &configurableHub{mockHub: &mockHub{}} },
			opts: sdktest.Options{Config: func(testing.TB) any {
				return &hubConfig{Dir: "/var/lib/dpc", Limit: 1}
			}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sdktest.Conformance(t, tc.newImpl, tc.opts)
		})
	}
}
