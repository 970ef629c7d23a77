package server

import (
	"testing"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

const fuzzOwner = "dpc-node-0123456789abcdef0123456789abcdef"

func FuzzDecodeLogin(f *testing.F) {
	f.Add([]byte(`{"node_id":"` + fuzzOwner + `","certificate":"-----BEGIN CERTIFICATE-----\n","nonce":"abc","signature":"AAAA","algorithm":"ed25519"}`))
	f.Add([]byte(`{"node_id":1}`))
	f.Add([]byte(`{} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeLogin(b)
		if err != nil {
			return
		}
		if !dpcuri.ValidNodeID(req.NodeID) || len(req.Signature) == 0 || req.Nonce == "" {
			t.Fatalf("accepted an invalid login: %+v", req)
		}
	})
}

func FuzzDecodeRefresh(f *testing.F) {
	f.Add([]byte(`{"refresh_token":"dpcr_x"}`))
	f.Add([]byte(`{"refresh_token":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := decodeRefresh(b); err == nil && tok == "" {
			t.Fatal("accepted an empty refresh token")
		}
	})
}

func FuzzDecodeProfile(f *testing.F) {
	f.Add([]byte(`{"name":"Alice","description":"d","expertise":{"go":3},"compute":{"available":true,"models":["m"]},"uris":["dpc://1.2.3.4?node_id=` + fuzzOwner + `"]}`))
	f.Add([]byte(`{"name":"\u202eevil","expertise":{"Go":9}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeProfile(b, fuzzOwner)
		if err != nil {
			return
		}
		if n := utf8.RuneCountInString(p.Name); n == 0 || n > maxNameRunes || !cleanText(p.Name, false) {
			t.Fatalf("accepted name %q", p.Name)
		}
		if len(p.Expertise) > maxExpertise || len(p.URIs) > maxURIs {
			t.Fatalf("accepted unbounded lists: %+v", p)
		}
		for _, s := range p.URIs {
			u, err := dpcuri.Parse(s)
			if err != nil || u.NodeID != fuzzOwner {
				t.Fatalf("accepted URI %q (%v)", s, err)
			}
		}
	})
}

func FuzzDecodeSearch(f *testing.F) {
	f.Add("go", "1", "10")
	f.Add("Ünïcode names", "", "")
	f.Add("x", "9", "0")
	f.Fuzz(func(t *testing.T, q, lvl, lim string) {
		sq, err := decodeSearch(q, lvl, lim)
		if err != nil {
			return
		}
		if sq.MinLevel < 1 || sq.MinLevel > maxLevel || sq.Limit < 1 || sq.Limit > maxSearchLimit || utf8.RuneCountInString(sq.Text) > maxQueryLen {
			t.Fatalf("accepted %+v", sq)
		}
	})
}

func FuzzDecodeClientMessage(f *testing.F) {
	f.Add([]byte(`{"type":"signal","target_node_id":"` + fuzzOwner + `","sender_node_id":"x","payload":{"type":"offer"}}`))
	f.Add([]byte(`{"type":"ping","timestamp":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeClientMessage(b)
		if err != nil {
			return
		}
		if m.Type == "signal" && (!dpcuri.ValidNodeID(m.TargetNodeID) || len(m.Payload) == 0) {
			t.Fatalf("accepted signal %+v", m)
		}
		if m.Type != "signal" && m.Type != "ping" {
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}

func FuzzDecodeOAuthLink(f *testing.F) {
	f.Add([]byte(`{"provider":"github"}`))
	f.Add([]byte(`{"provider":""}`))
	f.Add([]byte(`{"provider":"a\u202e"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := decodeOAuthLink(b)
		if err != nil {
			return
		}
		if name == "" || len(name) > maxProviderLen || !utf8.ValidString(name) {
			t.Fatalf("accepted provider %q", name)
		}
	})
}

func FuzzDecodeMailboxAck(f *testing.F) {
	f.Add([]byte(`{"ids":["0123456789abcdef0123456789abcdef"]}`))
	f.Add([]byte(`{"ids":[]}`))
	f.Add([]byte(`{"ids":null}`))
	f.Add([]byte(`{"ids":[""],"x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ids, err := decodeMailboxAck(b)
		if err != nil {
			return
		}
		if ids == nil || len(ids) > maxAckIDs {
			t.Fatalf("accepted %d ids (nil %v)", len(ids), ids == nil)
		}
		for _, id := range ids {
			if id == "" || len(id) > maxEnvelopeIDBytes {
				t.Fatalf("accepted id %q", id)
			}
		}
	})
}

func FuzzDecodeMailboxTTL(f *testing.F) {
	for _, s := range []string{"60", "604800", "604801", "0060", "-1", "1e3", "", " 60", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ttl, err := decodeMailboxTTL([]string{s})
		if err == nil && (ttl < minMailboxTTL || ttl > maxMailboxTTL) {
			t.Fatalf("%q gave the TTL %s", s, ttl)
		}
	})
}
