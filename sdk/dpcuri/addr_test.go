package dpcuri

import (
	"errors"
	"strings"
	"testing"
)

// TestParseAddress: the dial form of a URI (node_id optional) that
// transport plugins parsed with a copy of their own.
func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		uri      string
		want     string
		wantText string
	}{
		"IPv4 with node_id":        {uri: "dpc://198.51.100.7:8888?node_id=" + testNodeID, want: "198.51.100.7:8888"},
		"node_id not interpreted":  {uri: "dpc://198.51.100.7:8888?node_id=dpc-node-abc", want: "198.51.100.7:8888"},
		"IPv4 without port":        {uri: "dpc://198.51.100.7", want: "198.51.100.7:8888"},
		"IPv6":                     {uri: "dpc://[2001:db8::7]:9000?node_id=x", want: "[2001:db8::7]:9000"},
		"IPv6 without port":        {uri: "dpc://[::1]", want: "[::1]:8888"},
		"IPv6 with zone":           {uri: "dpc://[fe80::1%25eth0]:1", want: "[fe80::1%eth0]:1"},
		"host name":                {uri: "dpc://peer.example.org:9000", want: "peer.example.org:9000"},
		"host name, trailing dot":  {uri: "dpc://peer.example.org.:9000", want: "peer.example.org.:9000"},
		"upper-case scheme, host":  {uri: "DPC://Peer.Example.org:1", want: "peer.example.org:1"},
		"empty query":              {uri: "dpc://127.0.0.1:1?", want: "127.0.0.1:1"},
		"other query":              {uri: "dpc://127.0.0.1:1?node_id=a&hint=b", want: "127.0.0.1:1"},
		"highest port":             {uri: "dpc://127.0.0.1:65535", want: "127.0.0.1:65535"},
		"other scheme":             {uri: "tcp://127.0.0.1:8888", wantText: `scheme is "tcp"`},
		"https":                    {uri: "https://127.0.0.1:8888", wantText: `scheme is "https", want "dpc" (dpc://host:port)`},
		"no scheme":                {uri: "127.0.0.1:8888", wantText: "want dpc://host:port"},
		"empty":                    {uri: "", wantText: "want dpc://host:port"},
		"opaque":                   {uri: "dpc:127.0.0.1:8888", wantText: "want dpc://host:port"},
		"path":                     {uri: "dpc://127.0.0.1:8888/peer", wantText: `path "/peer" not allowed after host:port`},
		"trailing slash":           {uri: "dpc://127.0.0.1:8888/", wantText: `path "/" not allowed`},
		"user":                     {uri: "dpc://me@127.0.0.1:8888", wantText: "user information"},
		"fragment":                 {uri: "dpc://127.0.0.1:8888#x", wantText: "fragment"},
		"empty fragment":           {uri: "dpc://127.0.0.1:8888#", wantText: "fragment"},
		"no host":                  {uri: "dpc://:8888", wantText: "missing host"},
		"empty port":               {uri: "dpc://127.0.0.1:", wantText: "empty port"},
		"port 0":                   {uri: "dpc://127.0.0.1:0", wantText: `bad port "0" (want 1-65535)`},
		"port too large":           {uri: "dpc://127.0.0.1:65536", wantText: `bad port "65536"`},
		"port not a number":        {uri: "dpc://127.0.0.1:http", wantText: `bad port "http"`},
		"IPv6 without brackets":    {uri: "dpc://::1:8888", wantText: "must be in brackets"},
		"IPv6 bare, no port":       {uri: "dpc://2001:db8::1", wantText: "must be in brackets"},
		"name in brackets":         {uri: "dpc://[example.org]:1", wantText: "bad IPv6 address"},
		"underscore in a name":     {uri: "dpc://exa_mple.org:1", wantText: `bad character '_' in host name "exa_mple.org"`},
		"empty label":              {uri: "dpc://example..org:1", wantText: "bad host name"},
		"IPv4 wildcard":            {uri: "dpc://0.0.0.0:8888", wantText: "0.0.0.0 is a wildcard address, not a peer"},
		"IPv6 wildcard":            {uri: "dpc://[::]:8888", wantText: "wildcard"},
		"malformed query":          {uri: "dpc://127.0.0.1:1?node_id=%zz", wantText: "bad query"},
		"white space":              {uri: "dpc://127.0.0.1 :1", wantText: "white space"},
		"host name of 254 letters": {uri: "dpc://" + strings.Repeat("a.", 127) + "aa:1", wantText: "longer than 253"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAddress(tc.uri)
			if tc.wantText == "" {
				if err != nil || got.String() != tc.want {
					t.Errorf("want %q, got %q (err %v)", tc.want, got, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidURI) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want ErrInvalidURI mentioning %q, got %v (parsed %+v)", tc.wantText, err, got)
			}
		})
	}
}

func TestAddressWithNodeID(t *testing.T) {
	t.Parallel()
	a, err := ParseAddress("dpc://[2001:DB8::7]:9000")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.WithNodeID(testNodeID).String(), "dpc://[2001:db8::7]:9000?node_id="+testNodeID; got != want {
		t.Errorf("want %s, got %s", want, got)
	}
}

// TestValidHost is the host rule config and transport-direct each had a
// copy of.
func TestValidHost(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		host string
		want bool
	}{
		"IPv4":                 {"198.51.100.7", true},
		"IPv6":                 {"2001:db8::7", true},
		"IPv6 with zone":       {"fe80::1%eth0", true},
		"name":                 {"peer.example.org", true},
		"upper case":           {"Peer.Example.ORG", true},
		"trailing dot":         {"example.org.", true},
		"one label":            {"localhost", true},
		"63-letter label":      {strings.Repeat("a", 63) + ".org", true},
		"empty":                {"", false},
		"dot alone":            {".", false},
		"leading dot":          {".example.org", false},
		"empty label":          {"example..org", false},
		"64-letter label":      {strings.Repeat("a", 64) + ".org", false},
		"254 characters":       {strings.Repeat("a.", 127), false},
		"underscore":           {"exa_mple.org", false},
		"space":                {"exa mple", false},
		"IPv6 in brackets":     {"[::1]", false},
		"host:port":            {"example.org:1", false},
		"non-ASCII":            {"exämple.org", false},
		"253 characters, fine": {strings.Repeat("a.", 126) + "a", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := ValidHost(tc.host); got != tc.want {
				t.Errorf("ValidHost(%q): want %v, got %v", tc.host, tc.want, got)
			}
		})
	}
}

func TestCheckListenAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		addr string
		want string // "" means valid
	}{
		"IPv4 wildcard":        {addr: "0.0.0.0:8888"},
		"IPv6 wildcard":        {addr: "[::]:8888"},
		"every interface":      {addr: ":8888"},
		"any free port":        {addr: "127.0.0.1:0"},
		"host name":            {addr: "localhost:1"},
		"not host:port":        {addr: "8888", want: `"8888" is not a host:port address; want for example "0.0.0.0:8888" or "[::]:8888"`},
		"bare IPv6":            {addr: "::1:8888", want: `"::1:8888" is not a host:port address`},
		"port by name":         {addr: "0.0.0.0:http", want: `"0.0.0.0:http" has an invalid port "http"; want a number from 0 to 65535`},
		"port too large":       {addr: "0.0.0.0:65536", want: "invalid port"},
		"bad host":             {addr: "exa mple:1", want: `"exa mple:1" has an invalid host "exa mple"; want an IP address or a host name`},
		"underscore in a name": {addr: "exa_mple:1", want: "invalid host"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkAddressError(t, CheckListenAddress(tc.addr), tc.addr, tc.want)
		})
	}
}

func TestCheckDialAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		addr string
		want string // "" means valid
	}{
		"IPv4":             {addr: "198.51.100.7:8888"},
		"IPv6":             {addr: "[2001:db8::7]:8888"},
		"host name":        {addr: "peer.example.org:9000"},
		"without port":     {addr: "198.51.100.7", want: `"198.51.100.7" is not a host:port address; want for example "198.51.100.7:8888" or "[2001:db8::7]:8888"`},
		"port 0":           {addr: "198.51.100.7:0", want: `"198.51.100.7:0" has an invalid port "0"; want a number from 1 to 65535`},
		"empty host":       {addr: ":8888", want: `":8888" has an invalid host ""`},
		"bad host":         {addr: "exa mple:1", want: "invalid host"},
		"IPv4 wildcard":    {addr: "0.0.0.0:8888", want: `"0.0.0.0:8888" is a wildcard address that peers cannot dial; want this node's public address`},
		"IPv6 wildcard":    {addr: "[::]:8888", want: "wildcard"},
		"port by name":     {addr: "198.51.100.7:http", want: "invalid port"},
		"port too large":   {addr: "198.51.100.7:65536", want: "invalid port"},
		"not an address":   {addr: "nonsense", want: "not a host:port"},
		"empty string":     {addr: "", want: "not a host:port"},
		"unbracketed IPv6": {addr: "2001:db8::7:8888", want: "not a host:port"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkAddressError(t, CheckDialAddress(tc.addr), tc.addr, tc.want)
		})
	}
}

func checkAddressError(t *testing.T, err error, addr, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("want %q valid, got %v", addr, err)
		}
		return
	}
	var ae *AddressError
	if !errors.As(err, &ae) || ae.Address != addr || !errors.Is(err, ErrInvalidAddress) || !strings.Contains(err.Error(), want) {
		t.Errorf("want an *AddressError for %q matching ErrInvalidAddress and containing %q, got %v", addr, want, err)
	}
}

// FuzzParseAddress: never panic; whatever parses is dialable and its
// host:port survives a round trip through a node URI.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"dpc://198.51.100.7:8888?node_id=" + testNodeID,
		"dpc://[fe80::1%25eth0]:1",
		"dpc://peer.example.org.",
		"dpc://0.0.0.0",
		"dpc://a@b:1/c?x=y#z",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("want ErrInvalidURI, got %v", err)
			}
			return
		}
		if a.Port < 1 || a.Port > 65535 || a.Host == "" {
			t.Fatalf("parsed an invalid address from %q: %+v", s, a)
		}
		if err := CheckDialAddress(a.String()); err != nil {
			t.Fatalf("%q parsed to %s, which is not dialable: %v", s, a, err)
		}
		again, err := ParseAddress(a.WithNodeID(testNodeID).String())
		if err != nil || again != a {
			t.Fatalf("round trip of %q: want %+v, got %+v (err %v)", s, a, again, err)
		}
	})
}

// FuzzCheckListenAddress: never panic; an accepted address splits.
func FuzzCheckListenAddress(f *testing.F) {
	for _, s := range []string{"0.0.0.0:8888", "[::]:0", ":1", "exa mple:1", "[fe80::1%eth0]:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := CheckListenAddress(s); err != nil && !errors.Is(err, ErrInvalidAddress) {
			t.Fatalf("want ErrInvalidAddress, got %v", err)
		}
	})
}
