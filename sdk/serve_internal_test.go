package sdk

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// TestAnswerArgs: Serve answers --version itself, so no plugin main needs
// its own copy of the argument handling.
func TestAnswerArgs(t *testing.T) {
	t.Parallel()
	info := Info{Name: "llm-echo", Version: "0.1.0"}
	tests := map[string]struct {
		args     []string
		wantDone bool
		wantCode int
		wantOut  string
		wantErr  string
	}{
		"no arguments: serve":  {args: nil},
		"--version":            {args: []string{"--version"}, wantDone: true, wantOut: "llm-echo 0.1.0 (D-PC plugin API v1, sdk " + SDKVersion + ")\n"},
		"-version":             {args: []string{"-version"}, wantDone: true, wantOut: "llm-echo 0.1.0 (D-PC plugin API v1, sdk " + SDKVersion + ")\n"},
		"unknown flag":         {args: []string{"--help"}, wantDone: true, wantCode: 1, wantErr: `dpc-plugin-llm-echo: unexpected arguments ["--help"]: this is a D-PC plugin; dpc starts it (try --version)`},
		"extra arguments":      {args: []string{"--version", "x"}, wantDone: true, wantCode: 1, wantErr: "dpc starts it"},
		"an argument, no flag": {args: []string{"serve"}, wantDone: true, wantCode: 1, wantErr: `unexpected arguments ["serve"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code, done := answerArgs(info, tc.args, &stdout, &stderr)
			if done != tc.wantDone || code != tc.wantCode {
				t.Errorf("want done %v code %d, got %v %d", tc.wantDone, tc.wantCode, done, code)
			}
			if stdout.String() != tc.wantOut {
				t.Errorf("stdout: want %q, got %q", tc.wantOut, stdout.String())
			}
			if tc.wantErr == "" && stderr.Len() != 0 || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr: want %q, got %q", tc.wantErr, stderr.String())
			}
		})
	}
}

// TestAPIVersionMatchesWire: the host side dispenses under wire.APIVersion
// and Serve serves under APIVersion; they must be one number.
func TestAPIVersionMatchesWire(t *testing.T) {
	t.Parallel()
	if APIVersion != wire.APIVersion || wire.Handshake.ProtocolVersion != APIVersion {
		t.Errorf("sdk.APIVersion %d, wire.APIVersion %d, handshake %d: want one number", APIVersion, wire.APIVersion, wire.Handshake.ProtocolVersion)
	}
}
