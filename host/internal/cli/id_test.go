package cli

import (
	"slices"
	"strings"
	"testing"
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
			got := nodeURIs(tc.listen, id)
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
