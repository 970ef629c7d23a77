package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/turnserver/turntest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// TestE2ETurnRelaysForLoggedInNode: dpc-hub --turn says so in /health,
// hands a logged-in node a credential for its TURN port, and the real
// process relays with it; a second hub cannot take the same TURN port.
func TestE2ETurnRelaysForLoggedInNode(t *testing.T) {
	data := t.TempDir()
	turnAddr := fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t))
	h := startHub(t, "127.0.0.1:0", data, "--turn", "--turn-listen", turnAddr, "--turn-ttl", "10m")

	var health struct {
		Turn string `json:"turn"`
	}
	if code := call(t, "GET", h.URL+"/health", "", nil, &health); code != 200 || health.Turn != "on" {
		t.Fatalf("/health: want 200 with turn on, got %d %+v", code, health)
	}
	fi, err := os.Stat(filepath.Join(data, "turn.secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("DATA/turn.secret: want mode 0600, got %v %v", fi, err)
	}

	n := dpcInit(t, "Dora", "ed25519")
	tok := keyLogin(t, h.URL, n)
	var ice struct {
		IceServers []struct {
			URLs       []string  `json:"urls"`
			Username   string    `json:"username"`
			Credential string    `json:"credential"`
			ExpiresAt  time.Time `json:"expires_at"`
		} `json:"ice_servers"`
		TTL   int64  `json:"ttl"`
		Error string `json:"error"`
	}
	if code := call(t, "GET", h.URL+"/ice-servers", "", nil, &ice); code != 401 || ice.Error != "unauthorized" {
		t.Fatalf("/ice-servers without a token: want 401 unauthorized, got %d %+v", code, ice)
	}
	if code := call(t, "GET", h.URL+"/ice-servers", tok.AccessToken, nil, &ice); code != 200 || len(ice.IceServers) != 1 {
		t.Fatalf("/ice-servers: want 200 with one server, got %d %+v", code, ice)
	}
	is := ice.IceServers[0]
	if want := "turn:" + turnAddr + "?transport=udp"; len(is.URLs) != 1 || is.URLs[0] != want {
		t.Fatalf("urls %v, want [%s]", is.URLs, want)
	}
	if !strings.HasSuffix(is.Username, ":"+n.NodeID) || ice.TTL <= 0 || ice.TTL > 600 || time.Until(is.ExpiresAt) > 10*time.Minute {
		t.Fatalf("want a credential of %s for at most 10 minutes, got %+v ttl %d", n.NodeID, is, ice.TTL)
	}
	relay, err := turntest.Allocate(t, turnAddr, is.Username, is.Credential)
	if err != nil {
		t.Fatalf("allocation at the real hub: %v", err)
	}
	if err := turntest.RoundTrip(relay, turntest.EchoPeer(t), []byte("relayed by dpc-hub")); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(filepath.Join(binDir, "dpc-hub"), "--listen", "127.0.0.1:0", "--data", t.TempDir(),
		"--turn", "--turn-listen", turnAddr).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "choose another --turn-listen") {
		t.Fatalf("a second hub on the same TURN port: want a failure naming --turn-listen, got %v\n%s", err, out)
	}

	// SIGTERM with a relay open: a clean exit that frees the TURN port.
	h.stop(t)
	free, err := net.ListenPacket("udp", turnAddr)
	if err != nil {
		t.Fatalf("the TURN port after the hub stopped: %v", err)
	}
	_ = free.Close()
}
