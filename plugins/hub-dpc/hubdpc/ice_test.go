package hubdpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// iceRequests counts the hub's successful GET /ice-servers answers (its
// /metrics), to tell a cached answer from a new request.
func iceRequests(t *testing.T, hubURL string) string {
	t.Helper()
	resp, err := http.Get(hubURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, `dpc_hub_http_requests_total{code="200",route="GET /ice-servers"}`) {
			f := strings.Fields(l)
			return f[len(f)-1]
		}
	}
	return "0"
}

// TestIceServersFromHubTURN: a logged-in node gets the hub's TURN server
// with its own credential, reused on the next call; without a login, and
// after a logout, it gets none.
func TestIceServersFromHubTURN(t *testing.T) {
	t.Parallel()
	turnAddr := fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t))
	hub := startHub(t, "127.0.0.1:0", t.TempDir(), "--turn", "--turn-listen", turnAddr)
	ctx := context.Background()
	n := newNode(t, hub.URL, "Alice", nil)
	if _, err := n.hub.IceServers(ctx); !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Fatalf("IceServers before a login: want sdk.ErrPermissionDenied, got %v", err)
	}
	n.login(t)
	got, err := n.hub.IceServers(ctx)
	if err != nil {
		t.Fatalf("IceServers: %v", err)
	}
	if len(got) != 1 || len(got[0].URLs) != 1 || got[0].URLs[0] != "turn:"+turnAddr+"?transport=udp" {
		t.Fatalf("want the hub's TURN server turn:%s?transport=udp, got %+v", turnAddr, got)
	}
	if !strings.HasSuffix(got[0].Username, ":"+n.ident.NodeID) || got[0].Credential == "" ||
		time.Until(got[0].Expires) <= 0 || time.Until(got[0].Expires) > time.Hour {
		t.Fatalf("want a credential of %s expiring within the hour, got %+v", n.ident.NodeID, got[0])
	}
	if c := iceRequests(t, hub.URL); c != "1" {
		t.Fatalf("the hub answered %s ice-servers requests, want 1", c)
	}
	again, err := n.hub.IceServers(ctx)
	if err != nil || len(again) != 1 || again[0].Username != got[0].Username {
		t.Fatalf("second IceServers: want the cached credential, got %+v %v", again, err)
	}
	if c := iceRequests(t, hub.URL); c != "1" {
		t.Fatalf("the second call asked the hub again (%s requests): want the cached answer", c)
	}
	if err := n.hub.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, err := n.hub.IceServers(ctx); !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Fatalf("IceServers after a logout: want sdk.ErrPermissionDenied, got %v", err)
	}
}

func TestIceServersWithoutTURNUnsupported(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	n := newNode(t, hub.URL, "Alice", nil)
	n.login(t)
	_, err := n.hub.IceServers(context.Background())
	if !errors.Is(err, sdk.ErrUnsupported) || !strings.Contains(err.Error(), "runs no TURN server") {
		t.Fatalf("want an error wrapping sdk.ErrUnsupported saying the hub runs no TURN server, got %v", err)
	}
}

func TestDecodeIceServers(t *testing.T) {
	file := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]struct {
		raw    []byte
		wantOK bool
	}{
		"dpc-hub answer":               {file("ice_servers.json"), true},
		"TURN without a credential":    {file("ice_servers_no_credential.json"), false},
		"URL that is not stun or turn": {file("ice_servers_bad_scheme.json"), false},
		"STUN without a credential":    {[]byte(`{"ice_servers":[{"urls":["stun:203.0.113.5:3478"]}],"ttl":60}`), true},
		"no servers":                   {[]byte(`{"ice_servers":[],"ttl":60}`), false},
		"no ttl":                       {[]byte(`{"ice_servers":[{"urls":["stun:h:1"]}]}`), false},
		"ttl of years":                 {[]byte(`{"ice_servers":[{"urls":["stun:h:1"]}],"ttl":100000000}`), false},
		"server without URLs":          {[]byte(`{"ice_servers":[{"urls":[]}],"ttl":60}`), false},
		"bare scheme":                  {[]byte(`{"ice_servers":[{"urls":["turn:"]}],"ttl":60}`), false},
		"error body":                   {file("error.json"), false},
		"not JSON":                     {file("not_json.json"), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decodeIceServers(tc.raw)
			if tc.wantOK && err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if !tc.wantOK && !errors.Is(err, ErrBadResponse) {
				t.Fatalf("want ErrBadResponse, got %v", err)
			}
		})
	}
}
