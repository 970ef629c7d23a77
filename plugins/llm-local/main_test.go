package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunArguments(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args    []string
		wantOut string
		wantErr string
	}{
		"--version":       {args: []string{"--version"}, wantOut: "llm-local 0.1.0 (D-PC plugin API v1, sdk "},
		"-version":        {args: []string{"-version"}, wantOut: "llm-local 0.1.0 (D-PC plugin API v1, sdk "},
		"unknown flag":    {args: []string{"--help"}, wantErr: `unexpected arguments ["--help"]`},
		"extra arguments": {args: []string{"--version", "x"}, wantErr: "dpc starts it"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(tc.args, &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("want an error containing %q, got %v", tc.wantErr, err)
				}
				if out.Len() != 0 {
					t.Errorf("want nothing on stdout, got %q", out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if !strings.HasPrefix(out.String(), tc.wantOut) {
				t.Errorf("want output starting with %q, got %q", tc.wantOut, out.String())
			}
		})
	}
}
