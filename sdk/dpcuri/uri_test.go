package dpcuri

import (
	"errors"
	"strings"
	"testing"
)

const testNodeID = "dpc-node-e1f17b8289ab4c4b8ef70076113b9786"

func TestParseURIValid(t *testing.T) {
	tests := map[string]struct {
		in        string
		want      URI
		canonical string
	}{
		"host and port": {
			in:        "dpc://alice.example.org:9000?node_id=" + testNodeID,
			want:      URI{Host: "alice.example.org", Port: 9000, NodeID: testNodeID},
			canonical: "dpc://alice.example.org:9000?node_id=" + testNodeID,
		},
		"default port": {
			in:        "dpc://alice.example.org?node_id=" + testNodeID,
			want:      URI{Host: "alice.example.org", Port: DefaultPort, NodeID: testNodeID},
			canonical: "dpc://alice.example.org:8888?node_id=" + testNodeID,
		},
		"IPv4": {
			in:        "dpc://192.168.1.10:8888?node_id=" + testNodeID,
			want:      URI{Host: "192.168.1.10", Port: 8888, NodeID: testNodeID},
			canonical: "dpc://192.168.1.10:8888?node_id=" + testNodeID,
		},
		"IPv6 loopback": {
			in:        "dpc://[::1]:8889?node_id=" + testNodeID,
			want:      URI{Host: "::1", Port: 8889, NodeID: testNodeID},
			canonical: "dpc://[::1]:8889?node_id=" + testNodeID,
		},
		"IPv6 default port, normalised": {
			in:        "dpc://[2001:DB8:0:0::0001]?node_id=" + testNodeID,
			want:      URI{Host: "2001:db8::1", Port: 8888, NodeID: testNodeID},
			canonical: "dpc://[2001:db8::1]:8888?node_id=" + testNodeID,
		},
		"IPv6 with zone": {
			in:        "dpc://[fe80::1%25eth0]:8888?node_id=" + testNodeID,
			want:      URI{Host: "fe80::1%eth0", Port: 8888, NodeID: testNodeID},
			canonical: "dpc://[fe80::1%25eth0]:8888?node_id=" + testNodeID,
		},
		"upper-case scheme and host": {
			in:        "DPC://Alice.Example.ORG:1?node_id=" + testNodeID,
			want:      URI{Host: "alice.example.org", Port: 1, NodeID: testNodeID},
			canonical: "dpc://alice.example.org:1?node_id=" + testNodeID,
		},
		"max port": {
			in:        "dpc://localhost:65535?node_id=" + testNodeID,
			want:      URI{Host: "localhost", Port: 65535, NodeID: testNodeID},
			canonical: "dpc://localhost:65535?node_id=" + testNodeID,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("want no error got %v", err)
			}
			if got != tc.want {
				t.Errorf("want %+v got %+v", tc.want, got)
			}
			if s := got.String(); s != tc.canonical {
				t.Errorf("String: want %s got %s", tc.canonical, s)
			}
		})
	}
}

func TestParseURIInvalid(t *testing.T) {
	tests := map[string]struct {
		in       string
		wantText string
	}{
		"empty":               {"", "want dpc://"},
		"no scheme":           {"alice:8888?node_id=" + testNodeID, "want dpc://"},
		"wrong scheme":        {"https://alice:8888?node_id=" + testNodeID, `scheme is "https"`},
		"missing node_id":     {"dpc://alice:8888", "missing node_id"},
		"empty node_id":       {"dpc://alice:8888?node_id=", "malformed node_id"},
		"short node_id":       {"dpc://alice:8888?node_id=dpc-node-e1f17b8289ab4c4b", "malformed node_id"},
		"old 16-hex node_id":  {"dpc://alice:8888?node_id=dpc-node-e1f17b8289ab4c4b", "malformed node_id"},
		"upper-case node_id":  {"dpc://alice:8888?node_id=dpc-node-E1F17B8289AB4C4B8EF70076113B9786", "malformed node_id"},
		"wrong prefix":        {"dpc://alice:8888?node_id=dpc-peer-e1f17b8289ab4c4b8ef70076113b9786", "malformed node_id"},
		"node_id twice":       {"dpc://alice:8888?node_id=" + testNodeID + "&node_id=" + testNodeID, "2 times"},
		"unknown parameter":   {"dpc://alice:8888?node_id=" + testNodeID + "&x=1", `unknown query parameter "x"`},
		"bad port":            {"dpc://alice:abc?node_id=" + testNodeID, `bad port "abc"`},
		"port zero":           {"dpc://alice:0?node_id=" + testNodeID, `bad port "0"`},
		"port too big":        {"dpc://alice:65536?node_id=" + testNodeID, `bad port "65536"`},
		"empty port":          {"dpc://alice:?node_id=" + testNodeID, "empty port"},
		"missing host":        {"dpc://:8888?node_id=" + testNodeID, "missing host"},
		"userinfo":            {"dpc://bob@alice:8888?node_id=" + testNodeID, "user info"},
		"path":                {"dpc://alice:8888/chat?node_id=" + testNodeID, `path "/chat"`},
		"root path":           {"dpc://alice:8888/?node_id=" + testNodeID, `path "/"`},
		"fragment":            {"dpc://alice:8888?node_id=" + testNodeID + "#x", "fragment"},
		"IPv6 unbracketed":    {"dpc://::1?node_id=" + testNodeID, "brackets"},
		"IPv6 unbracketed 2":  {"dpc://2001:db8::1:8888?node_id=" + testNodeID, "brackets"},
		"IPv4 in brackets":    {"dpc://[127.0.0.1]:8888?node_id=" + testNodeID, "bad IPv6"},
		"bad IPv6":            {"dpc://[::g]:8888?node_id=" + testNodeID, "IPv6"},
		"bad host character":  {"dpc://ali*ce:8888?node_id=" + testNodeID, "bad character"},
		"empty label":         {"dpc://alice..org:8888?node_id=" + testNodeID, "bad host name"},
		"white space":         {"dpc://alice :8888?node_id=" + testNodeID, "white space"},
		"opaque":              {"dpc:alice:8888?node_id=" + testNodeID, "want dpc://"},
		"bad query escaping":  {"dpc://alice:8888?node_id=%zz", "bad query"},
		"node_id with suffix": {"dpc://alice:8888?node_id=" + testNodeID + "0", "malformed node_id"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("want ErrInvalidURI got %v (parsed %+v)", err, got)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("message: want it to contain %q got %q", tc.wantText, err)
			}
		})
	}
}

func TestValidNodeID(t *testing.T) {
	tests := map[string]struct {
		in   string
		want bool
	}{
		"valid":       {testNodeID, true},
		"empty":       {"", false},
		"prefix only": {"dpc-node-", false},
		"upper hex":   {"dpc-node-E1F17B8289AB4C4B8EF70076113B9786", false},
		"non hex":     {"dpc-node-g1f17b8289ab4c4b8ef70076113b9786", false},
		"too long":    {testNodeID + "a", false},
		"too short":   {testNodeID[:40], false},
		"old format":  {"dpc-node-e1f17b8289ab4c4b", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ValidNodeID(tc.in); got != tc.want {
				t.Errorf("want %v got %v", tc.want, got)
			}
		})
	}
}

// FuzzParseURI: never panic; whatever parses is valid and survives a
// String/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"dpc://alice:8888?node_id=" + testNodeID,
		"dpc://[::1]:1?node_id=" + testNodeID,
		"dpc://[fe80::1%25eth0]?node_id=" + testNodeID,
		"dpc://1.2.3.4?node_id=" + testNodeID,
		"dpc://a@b:1/c?node_id=x#y",
		"dpc://::1",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("want ErrInvalidURI got %v", err)
			}
			return
		}
		if !ValidNodeID(u.NodeID) || u.Port < 1 || u.Port > 65535 || u.Host == "" {
			t.Fatalf("parsed an invalid URI from %q: %+v", s, u)
		}
		again, err := Parse(u.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q: want it to parse got %v", u.String(), s, err)
		}
		if again != u {
			t.Fatalf("round trip of %q: want %+v got %+v", s, u, again)
		}
	})
}
