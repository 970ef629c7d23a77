package network_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNetworkImportsNoService: the network core sits below the capability
// services, so a change to one never reaches the core or the others.
// Before, network imported chat and files (for the outbox and transfers)
// and intel plugged in through a network.Intel interface.
func TestNetworkImportsNoService(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/dpc-go/dpc/host/internal/network").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	for name, pkg := range map[string]string{
		"chat service and its store":    "chat",
		"files service and its store":   "files",
		"context and inference (intel)": "intel",
		"personal context":              "personal",
		"models":                        "llm",
	} {
		if deps["github.com/dpc-go/dpc/host/internal/"+pkg] {
			t.Errorf("network imports %s (host/internal/%s)", name, pkg)
		}
	}
}
