package sdktest_test

import (
	"context"
	"fmt"
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
		// The mock hubs answer ErrUnsupported everywhere: they check the
		// plugin-wide parts only; loginHub passes the Hub checks.
		"hub":            {newImpl: func() sdk.Plugin { return &mockHub{} }, opts: sdktest.Options{SkipKindChecks: true}},
		"hub with login": {newImpl: func() sdk.Plugin { return loginHub() }},
		"configurable hub": {
			newImpl: func() sdk.Plugin { return &configurableHub{mockHub: &mockHub{}} },
			opts: sdktest.Options{SkipKindChecks: true, Config: func(testing.TB) any {
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

// loginHub is a mock hub that is not logged in and knows no session: the
// behaviour sdktest's Hub checks expect before a login.
func loginHub() *mockHub {
	denied := fmt.Errorf("%w: log in first", sdk.ErrPermissionDenied)
	return &mockHub{
		LogoutF:          func(context.Context) error { return denied },
		PublishPresenceF: func(context.Context, sdk.PublishPresenceRequest) error { return denied },
		LookupPeerF: func(context.Context, sdk.LookupPeerRequest) (sdk.LookupPeerResult, error) {
			return sdk.LookupPeerResult{}, denied
		},
		SearchPeersF: func(context.Context, sdk.SearchPeersRequest) (sdk.SearchPeersResult, error) {
			return sdk.SearchPeersResult{}, denied
		},
		SignalsF: func(context.Context, func(sdk.IncomingSignal) error) error { return denied },
		ResumeF: func(context.Context, sdk.ResumeRequest) (sdk.LoginResult, error) {
			return sdk.LoginResult{}, fmt.Errorf("%w: not a session of this plugin", sdk.ErrInvalidArgument)
		},
	}
}
