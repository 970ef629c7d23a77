package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/network"
)

func TestNodeURIs(t *testing.T) {
	t.Parallel()
	const id = "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		listen  []string
		want    []string
		wantAny string
	}{
		"a specific IPv4 address": {listen: []string{"192.0.2.7:9000"}, want: []string{"dpc://192.0.2.7:9000?node_id=" + id}},
		"a specific IPv6 address": {listen: []string{"[2001:db8::1]:8888"}, want: []string{"dpc://[2001:db8::1]:8888?node_id=" + id}},
		"the IPv4 wildcard lists this machine's addresses, loopback included": {
			listen: []string{"0.0.0.0:8888"}, wantAny: "dpc://127.0.0.1:8888?node_id=" + id,
		},
		"duplicates are listed once": {
			listen: []string{"192.0.2.7:1", "192.0.2.7:1"}, want: []string{"dpc://192.0.2.7:1?node_id=" + id},
		},
		"malformed entries are skipped": {listen: []string{"nonsense"}, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := network.NodeURIs(tc.listen, id)
			if tc.wantAny != "" {
				if !slices.Contains(got, tc.wantAny) {
					t.Errorf("want %q among %v", tc.wantAny, got)
				}
				for _, u := range got {
					if strings.Contains(u, "[") {
						t.Errorf("IPv4 wildcard: want no IPv6 URI, got %q", u)
					}
				}
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("want %v, got %v", tc.want, got)
			}
		})
	}
}

func TestListeningURIs(t *testing.T) {
	t.Parallel()
	const id = "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		listening []network.Listening
		want      []string
	}{
		"nothing listens": {want: nil},
		"the URIs a transport reports get the node_id": {
			listening: []network.Listening{{Addresses: []string{"0.0.0.0:40001"}, URIs: []string{"dpc://192.0.2.7:40001", "dpc://127.0.0.1:40001"}}},
			want:      []string{"dpc://192.0.2.7:40001?node_id=" + id, "dpc://127.0.0.1:40001?node_id=" + id},
		},
		"a transport without URIs: its bound addresses": {
			listening: []network.Listening{{Addresses: []string{"127.0.0.1:40002"}}},
			want:      []string{"dpc://127.0.0.1:40002?node_id=" + id},
		},
		"malformed URIs from a transport are left out": {
			listening: []network.Listening{{Addresses: []string{"127.0.0.1:40003"}, URIs: []string{"dpc://x:99999", "dpc://[::1]:40003"}}},
			want:      []string{"dpc://[::1]:40003?node_id=" + id},
		},
		"two transports, a URI in both, listed once": {
			listening: []network.Listening{{URIs: []string{"dpc://127.0.0.1:1"}}, {URIs: []string{"dpc://127.0.0.1:1", "dpc://127.0.0.1:2"}}},
			want:      []string{"dpc://127.0.0.1:1?node_id=" + id, "dpc://127.0.0.1:2?node_id=" + id},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := network.ListeningURIs(tc.listening, id); !slices.Equal(got, tc.want) {
				t.Errorf("want %v, got %v", tc.want, got)
			}
		})
	}
}
