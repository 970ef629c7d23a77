package dpcv1ref

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func startPeer(t *testing.T, o Options) *Peer {
	t.Helper()
	if o.Log == nil {
		o.Log = t.Logf
	}
	p, err := Listen("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// pair starts a server and a client peer and connects the client to the
// server. It returns the client's connection and the server's.
func pair(t *testing.T, server, client Options) (s, c *Peer, cc, sc *Conn) {
	t.Helper()
	ids := testIdentities(t, 2)
	if server.Identity == nil {
		server.Identity = ids[0]
	}
	if client.Identity == nil {
		client.Identity = ids[1]
	}
	s, c = startPeer(t, server), startPeer(t, client)
	ctx := testCtx(t, time.Minute)
	cc, err := c.Dial(ctx, s.Addr(), s.NodeID())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	sc, err = s.WaitConn(ctx)
	if err != nil {
		t.Fatalf("WaitConn: %v", err)
	}
	return s, c, cc, sc
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		strict     bool
		serverName string
		clientName string
	}{
		"lenient salt (cryptography 48)": {serverName: "alpha", clientName: "beta"},
		"strict salt (cryptography 38)":  {strict: true, serverName: "alpha", clientName: "beta"},
		"no display names":               {},
		"non-ASCII names":                {serverName: "Анна", clientName: "李"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, c, cc, sc := pair(t,
				Options{Name: tc.serverName, StrictSalt: tc.strict},
				Options{Name: tc.clientName, StrictSalt: tc.strict})
			if cc.PeerNodeID() != s.NodeID() || sc.PeerNodeID() != c.NodeID() {
				t.Errorf("node ids: client sees %s, server sees %s", cc.PeerNodeID(), sc.PeerNodeID())
			}
			if cc.PeerName() != tc.serverName || sc.PeerName() != tc.clientName {
				t.Errorf("names: client sees %q, server sees %q", cc.PeerName(), sc.PeerName())
			}
			if cc.Accepted() || !sc.Accepted() {
				t.Errorf("Accepted: client %v, server %v", cc.Accepted(), sc.Accepted())
			}
			wantName := "null"
			if tc.serverName != "" {
				n, _ := PythonJSON(tc.serverName)
				wantName = string(n)
			}
			wantAck := `{"command": "HELLO_ACK", "status": "OK", "name": ` + wantName + `, "node_id": "` + s.NodeID() + `"}`
			if got := string(cc.Handshake().Raw); got != wantAck {
				t.Errorf("HELLO_ACK on the wire:\n got %s\nwant %s", got, wantAck)
			}
			hello := sc.Handshake()
			helloShape := regexp.MustCompile(`^\{"command": "HELLO", "payload": \{"node_id": "dpc-node-[0-9a-f]{32}", "name": (null|"[^"]*"), "cert_pem": "-----BEGIN CERTIFICATE-----\\n[^"]+-----END CERTIFICATE-----\\n", "nonce_signature": "[A-Za-z0-9+/]{342}=="\}\}$`)
			if !helloShape.Match(hello.Raw) {
				t.Errorf("HELLO on the wire has the wrong shape: %s", hello.Raw)
			}
			if hello.Payload["cert_pem"] != string(c.Identity().CertPEM) {
				t.Errorf("HELLO cert_pem is not the client's node.crt")
			}
			if len(s.Rejected()) != 0 || len(c.Rejected()) != 0 {
				t.Errorf("rejections: server %v, client %v", s.Rejected(), c.Rejected())
			}
		})
	}
}

// TestServerWire looks at the listening side with a plain TLS client: no
// client certificate requested, no ALPN, CN = node_id, and the exact
// HELLO_CHALLENGE (§4.1, §4.4).
func TestServerWire(t *testing.T) {
	t.Parallel()
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			t.Parallel()
			s := startPeer(t, Options{Identity: testIdentities(t, 1)[0]})
			asked := false
			conf := &tls.Config{
				InsecureSkipVerify: true,
				MinVersion:         version,
				MaxVersion:         version,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					asked = true
					return &tls.Certificate{}, nil
				},
			}
			tc, err := tls.Dial("tcp", s.Addr(), conf)
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Close()
			_ = tc.SetDeadline(time.Now().Add(time.Minute))
			body, err := ReadFrame(tc, 0)
			if err != nil {
				t.Fatal(err)
			}
			st := tc.ConnectionState()
			if asked {
				t.Errorf("server requested a client certificate")
			}
			if st.NegotiatedProtocol != "" {
				t.Errorf("ALPN %q negotiated, want none", st.NegotiatedProtocol)
			}
			if cn, _ := firstCN(st.PeerCertificates[0]); cn != s.NodeID() {
				t.Errorf("server cert CN = %q, want %q", cn, s.NodeID())
			}
			m := regexp.MustCompile(`^\{"command": "HELLO_CHALLENGE", "payload": \{"nonce": "([A-Za-z0-9+/]{43}=)"\}\}$`).FindSubmatch(body)
			if m == nil {
				t.Fatalf("HELLO_CHALLENGE has the wrong shape: %s", body)
			}
			if n, _ := base64.StdEncoding.DecodeString(string(m[1])); len(n) != 32 {
				t.Errorf("nonce is %d bytes, want 32", len(n))
			}
		})
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	nullContext := `{"profile": null, "knowledge": {}, "preferences": null, "cognitive_profile": null, "version": null, ` +
		`"last_commit_id": null, "last_commit_message": null, "last_commit_timestamp": null, "commit_history": [], "metadata": {}}`
	tests := map[string]struct {
		server    Options
		command   string
		payload   map[string]any
		wantReply string // "" means no reply
	}{
		"REQUEST_CONTEXT, no rules": {
			command:   "REQUEST_CONTEXT",
			payload:   map[string]any{"request_id": "r1", "query": "what?", "requestor_id": "dpc-node-x"},
			wantReply: `{"command": "CONTEXT_RESPONSE", "payload": {"request_id": "r1", "context": ` + nullContext + `, "query": "what?"}}`,
		},
		"REQUEST_CONTEXT, given context": {
			server:    Options{Context: map[string]any{"metadata": map[string]any{}, "profile": map[string]any{"name": "Zoë"}}},
			command:   "REQUEST_CONTEXT",
			payload:   map[string]any{"request_id": "r2", "query": nil, "requestor_id": "dpc-node-x"},
			wantReply: `{"command": "CONTEXT_RESPONSE", "payload": {"request_id": "r2", "context": {"profile": {"name": "Zo\u00eb"}, "metadata": {}}, "query": null}}`,
		},
		"GET_PROVIDERS, none": {
			command:   "GET_PROVIDERS",
			wantReply: `{"command": "PROVIDERS_RESPONSE", "payload": {"providers": []}}`,
		},
		"GET_PROVIDERS, one": {
			server: Options{Providers: []map[string]any{{
				"context_window": nil, "supports_voice": false, "supports_vision": false,
				"type": "ollama", "model": "llama3.1:8b", "alias": "ollama_text",
			}}},
			command: "GET_PROVIDERS",
			wantReply: `{"command": "PROVIDERS_RESPONSE", "payload": {"providers": [{"alias": "ollama_text", "model": "llama3.1:8b", ` +
				`"type": "ollama", "supports_vision": false, "supports_voice": false, "context_window": null}]}}`,
		},
		"REMOTE_INFERENCE_REQUEST, answered": {
			server:  Options{Answer: "forty two"},
			command: "REMOTE_INFERENCE_REQUEST",
			payload: map[string]any{"request_id": "r3", "prompt": "what is six times seven", "model": "m1"},
			wantReply: `{"command": "REMOTE_INFERENCE_RESPONSE", "payload": {"request_id": "r3", "status": "success", "response": "forty two", ` +
				`"tokens_used": 7, "prompt_tokens": 5, "response_tokens": 2, "model": "m1", "provider": "ollama_text"}}`,
		},
		"REMOTE_INFERENCE_REQUEST, no compute": {
			command:   "REMOTE_INFERENCE_REQUEST",
			payload:   map[string]any{"request_id": "r4", "prompt": "hi"},
			wantReply: `{"command": "REMOTE_INFERENCE_RESPONSE", "payload": {"request_id": "r4", "status": "error", "error": "Compute sharing is not available on this node"}}`,
		},
		"REQUEST_CHAT_HISTORY": {
			command:   "REQUEST_CHAT_HISTORY",
			payload:   map[string]any{"conversation_id": "dpc-node-y", "request_id": "r5"},
			wantReply: `{"command": "CHAT_HISTORY_RESPONSE", "payload": {"conversation_id": "dpc-node-y", "request_id": "r5", "messages": [], "total_count": 0}}`,
		},
		"SEND_TEXT": {
			command: "SEND_TEXT",
			payload: map[string]any{"text": "hello ✓"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, c, cc, _ := pair(t, tc.server, Options{})
			ctx := testCtx(t, time.Minute)
			if err := cc.Send(tc.command, tc.payload); err != nil {
				t.Fatal(err)
			}
			got, err := s.WaitFor(ctx, tc.command)
			if err != nil {
				t.Fatal(err)
			}
			if rec := s.Received(); rec[0].Command != tc.command {
				t.Errorf("a quiet client sent %s before the request", rec[0].Raw)
			}
			if got.From != c.NodeID() {
				t.Errorf("request recorded from %s, want %s", got.From, c.NodeID())
			}
			if tc.payload == nil && strings.Contains(string(got.Raw), "payload") {
				t.Errorf("nil payload was sent: %s", got.Raw)
			}
			if tc.wantReply == "" {
				// Nothing comes back: a later request is answered first.
				if err := cc.Send("GET_PROVIDERS", nil); err != nil {
					t.Fatal(err)
				}
				if _, err := c.WaitFor(ctx, "PROVIDERS_RESPONSE"); err != nil {
					t.Fatal(err)
				}
				if n := len(c.Received()); n != 1 {
					t.Errorf("client received %d frames, want only the PROVIDERS_RESPONSE: %v", n, c.Received())
				}
				return
			}
			reply, err := c.WaitMatch(ctx, func(f Frame) bool { return f.Command != "" })
			if err != nil {
				t.Fatal(err)
			}
			if string(reply.Raw) != tc.wantReply {
				t.Errorf("reply on the wire:\n got %s\nwant %s", reply.Raw, tc.wantReply)
			}
		})
	}
}

// TestIgnoredAndFatalFrames checks what keeps a connection and what ends it
// (§4.3, §4.6).
func TestIgnoredAndFatalFrames(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		wire     string
		wantKept bool
	}{
		"unknown command":              {wire: frameOf(`{"command": "NOT_A_COMMAND", "payload": {}}`), wantKept: true},
		"registered command, no reply": {wire: frameOf(`{"command": "GROUP_SYNC", "payload": {"group_id": "g"}}`), wantKept: true},
		"no command":                   {wire: frameOf(`{"payload": {"text": "x"}}`), wantKept: true},
		"empty object":                 {wire: frameOf(`{}`), wantKept: true},
		"non-object JSON":              {wire: frameOf(`[1, 2]`), wantKept: true},
		"JSON string":                  {wire: frameOf(`"hello"`), wantKept: true},
		"payload not an object":        {wire: frameOf(`{"command": "REQUEST_CONTEXT", "payload": [1]}`), wantKept: true},
		"compact raw UTF-8 JSON":       {wire: frameOf(`{"command":"SEND_TEXT","payload":{"text":"é"}}`), wantKept: true},
		"lenient header":               {wire: " 000000002{}", wantKept: true},
		"non-digit header":             {wire: "HELLO12345{}"},
		"HTTP request":                 {wire: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		"negative length":              {wire: "-000000001{}"},
		"empty body":                   {wire: frameOf(``)},
		"invalid JSON":                 {wire: frameOf(`{"command": `)},
		"invalid UTF-8":                {wire: frameOf("{\"t\": \"\xff\"}")},
		"JSON null ends the listener":  {wire: frameOf(`null`)},
		"above the 64 MiB cap":         {wire: fmt.Sprintf("%010d", MaxFrameSize+1)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, c, cc, sc := pair(t, Options{}, Options{})
			ctx := testCtx(t, time.Minute)
			if err := cc.SendUnframed([]byte(tc.wire)); err != nil {
				t.Fatal(err)
			}
			if !tc.wantKept {
				for side, conn := range map[string]*Conn{"server": sc, "client": cc} {
					select {
					case <-conn.Done():
					case <-ctx.Done():
						t.Fatalf("%s side still open", side)
					}
				}
				if n := len(s.Received()); n != 0 {
					t.Errorf("server recorded %d frames, want 0", n)
				}
				return
			}
			if err := cc.Send("REQUEST_CONTEXT", map[string]any{"request_id": "probe"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitFor(ctx, "CONTEXT_RESPONSE"); err != nil {
				t.Fatalf("connection not kept: %v", err)
			}
			rec := s.Received()
			if len(rec) != 2 || string(rec[0].Raw) != tc.wire[HeaderLen:] {
				t.Errorf("server recorded %d frames, first %q; want 2, first %q", len(rec), rec[0].Raw, tc.wire[HeaderLen:])
			}
		})
	}
}

func frameOf(body string) string { return fmt.Sprintf("%010d", len(body)) + body }

func signNonce(t *testing.T, key *rsa.PrivateKey, nonce []byte, salt int) string {
	t.Helper()
	d := sha256.Sum256(nonce)
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// rawTLS opens a TLS connection to addr the way a bare client would.
func rawTLS(t *testing.T, addr string) *tls.Conn {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = tc.SetDeadline(time.Now().Add(time.Minute))
	return tc
}

func TestBadHello(t *testing.T) {
	t.Parallel()
	ids := testIdentities(t, 3)
	client, other := ids[1], ids[2]
	forged, err := ForgedCertPEM(client.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	edCert, edID, err := NewEd25519CertPEM()
	if err != nil {
		t.Fatal(err)
	}
	set := func(kv ...any) func([]byte, map[string]any) {
		return func(_ []byte, h map[string]any) {
			for i := 0; i < len(kv); i += 2 {
				h[kv[i].(string)] = kv[i+1]
			}
		}
	}
	del := func(keys ...string) func([]byte, map[string]any) {
		return func(_ []byte, h map[string]any) {
			for _, k := range keys {
				delete(h, k)
			}
		}
	}
	resign := func(key *rsa.PrivateKey, salt int, tamper bool) func([]byte, map[string]any) {
		return func(nonce []byte, h map[string]any) {
			if tamper {
				nonce = append([]byte{1}, nonce[1:]...)
			}
			h["nonce_signature"] = signNonce(t, key, nonce, salt)
		}
	}
	// raw clients talk to the server without Dial.
	closeAfterTLS := func(t *testing.T, addr string) { _ = rawTLS(t, addr).Close() }
	sendFirst := func(body string) func(*testing.T, string) {
		return func(t *testing.T, addr string) {
			tc := rawTLS(t, addr)
			defer tc.Close()
			if _, err := ReadFrame(tc, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := tc.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadFrame(tc, 0); err == nil {
				t.Errorf("server answered instead of closing")
			}
		}
	}
	bareTCP := func(t *testing.T, addr string) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.Close()
	}

	tests := map[string]struct {
		strict bool
		hook   func([]byte, map[string]any)
		raw    func(*testing.T, string)
		want   string // "" means the handshake succeeds (or, for raw, nothing is recorded)
	}{
		"valid HELLO (control)":              {},
		"nonce_signature over another nonce": {hook: resign(client.Key, rsa.PSSSaltLengthAuto, true), want: RejectBadSignature},
		"nonce_signature by another key":     {hook: resign(other.Key, rsa.PSSSaltLengthAuto, false), want: RejectBadSignature},
		"nonce_signature not base64":         {hook: set("nonce_signature", "%%%"), want: RejectBadSignature},
		"cert_pem of another identity":       {hook: set("cert_pem", string(other.CertPEM)), want: RejectCNMismatch},
		"forged cert with the claimed CN":    {hook: set("cert_pem", string(forged)), want: RejectKeyMismatch},
		"Ed25519 cert and node_id":           {hook: set("cert_pem", string(edCert), "node_id", edID), want: RejectNotRSA},
		"cert_pem not a certificate":         {hook: set("cert_pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), want: RejectBadCert},
		"cert_pem not a string":              {hook: set("cert_pem", 7), want: RejectBadCert},
		"missing cert_pem":                   {hook: del("cert_pem"), want: RejectOutdated},
		"missing nonce_signature":            {hook: del("nonce_signature"), want: RejectOutdated},
		"empty node_id":                      {hook: set("node_id", ""), want: RejectNoNodeID},
		"missing node_id":                    {hook: del("node_id"), want: RejectNoNodeID},
		"salt 32, strict server":             {strict: true, hook: resign(client.Key, rsa.PSSSaltLengthEqualsHash, false), want: RejectBadSignature},
		"salt 32, lenient server":            {hook: resign(client.Key, rsa.PSSSaltLengthEqualsHash, false)},
		"TLS, then close":                    {raw: closeAfterTLS, want: RejectNoHello},
		"first frame not HELLO":              {raw: sendFirst(frameOf(`{"command": "SEND_TEXT", "payload": {"text": "hi"}}`)), want: RejectNoHello},
		"HELLO payload not an object":        {raw: sendFirst(frameOf(`{"command": "HELLO", "payload": "x"}`)), want: RejectNoHello},
		"HELLO without payload":              {raw: sendFirst(frameOf(`{"command": "HELLO"}`)), want: RejectNoNodeID},
		"list instead of HELLO":              {raw: sendFirst(frameOf(`["HELLO"]`)), want: RejectNoHello},
		"bad header instead of HELLO":        {raw: sendFirst("HELLO, ANYONE?"), want: RejectNoHello},
		"bare TCP connect (not counted)":     {raw: bareTCP},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startPeer(t, Options{Identity: ids[0], StrictSalt: tc.strict})
			ctx := testCtx(t, time.Minute)
			if tc.raw != nil {
				tc.raw(t, s.Addr())
			} else {
				c := startPeer(t, Options{Identity: client, HelloHook: tc.hook})
				_, err := c.Dial(ctx, s.Addr(), s.NodeID())
				if (err == nil) != (tc.want == "") {
					t.Fatalf("Dial error = %v, want failure: %v", err, tc.want != "")
				}
			}
			if tc.want == "" {
				if tc.raw != nil {
					// Prove the server is still willing, and recorded nothing.
					c := startPeer(t, Options{Identity: client})
					if _, err := c.Dial(ctx, s.Addr(), s.NodeID()); err != nil {
						t.Fatalf("control Dial: %v", err)
					}
				}
				if r := s.Rejected(); len(r) != 0 {
					t.Errorf("Rejected = %q, want none", r)
				}
				return
			}
			got, err := s.WaitRejected(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("Rejected = %q, want [%q]", got, tc.want)
			}
			if n := len(s.Conns()); n != 0 {
				t.Errorf("server has %d connections after rejecting", n)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	closeAfterTLS := func(t *testing.T, addr string) { _ = rawTLS(t, addr).Close() }
	bareTCP := func(t *testing.T, addr string) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = nc.Close()
	}
	tests := map[string]struct {
		attempt     func(*testing.T, string)
		n           int
		wantLocked  bool
		wantReasons int
	}{
		"ten failed handshakes lock the IP out": {attempt: closeAfterTLS, n: RateLimitFailures, wantLocked: true, wantReasons: RateLimitFailures},
		"nine failed handshakes do not":         {attempt: closeAfterTLS, n: RateLimitFailures - 1, wantReasons: RateLimitFailures - 1},
		"bare TCP connects are not failures":    {attempt: bareTCP, n: 2 * RateLimitFailures},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ids := testIdentities(t, 2)
			s := startPeer(t, Options{Identity: ids[0]})
			c := startPeer(t, Options{Identity: ids[1]})
			ctx := testCtx(t, 60*time.Second)
			for range tc.n {
				tc.attempt(t, s.Addr())
			}
			if _, err := s.WaitRejected(ctx, tc.wantReasons); err != nil {
				t.Fatal(err)
			}
			if !tc.wantLocked {
				if _, err := c.Dial(ctx, s.Addr(), s.NodeID()); err != nil {
					t.Fatalf("Dial after %d attempts: %v", tc.n, err)
				}
				if got := s.Rejected(); len(got) != tc.wantReasons {
					t.Errorf("Rejected = %q, want %d entries", got, tc.wantReasons)
				}
				return
			}
			// Locked out: closed right after TLS, with no HELLO_CHALLENGE, and
			// the refusals themselves are not counted.
			for i := range 2 {
				_, err := c.Dial(ctx, s.Addr(), s.NodeID())
				if err == nil || !strings.Contains(err.Error(), "expected HELLO_CHALLENGE, got nothing") {
					t.Fatalf("Dial %d while locked out: %v, want no challenge", i, err)
				}
				got, err := s.WaitRejected(ctx, tc.wantReasons+i+1)
				if err != nil {
					t.Fatal(err)
				}
				if last := got[len(got)-1]; last != RejectRateLimited {
					t.Errorf("last rejection = %q, want %q", last, RejectRateLimited)
				}
			}
			s.mu.Lock()
			failures := len(s.failures["127.0.0.1"])
			s.mu.Unlock()
			if failures != RateLimitFailures {
				t.Errorf("%d failures recorded, want %d (rate-limited closes are not failures)", failures, RateLimitFailures)
			}
		})
	}
}

// fakeServer accepts TLS connections with id's certificate and runs script
// on each; the dialler's bare pre-flight connects are skipped.
func fakeServer(t *testing.T, id *Identity, script func(*testing.T, *tls.Conn)) string {
	t.Helper()
	block, _ := pem.Decode(id.CertPEM)
	conf := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{block.Bytes}, PrivateKey: id.Key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			tc := tls.Server(nc, conf)
			// A safety net for a script that waits for a dialler that
			// never comes, far above what a loaded machine needs.
			_ = tc.SetDeadline(time.Now().Add(time.Minute))
			if tc.Handshake() == nil {
				script(t, tc)
			}
			_ = tc.Close()
		}
	}()
	return ln.Addr().String()
}

func TestDialChecks(t *testing.T) {
	t.Parallel()
	ids := testIdentities(t, 3)
	srv, other := ids[0], ids[2]
	challengeThenAck := func(ack string) func(*testing.T, *tls.Conn) {
		return func(t *testing.T, tc *tls.Conn) {
			_, _ = tc.Write([]byte(frameOf(`{"command": "HELLO_CHALLENGE", "payload": {"nonce": "` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}}`)))
			if _, err := ReadFrame(tc, 0); err != nil {
				return
			}
			_, _ = tc.Write([]byte(frameOf(ack)))
			_, _ = ReadFrame(tc, 0) // until the dialler hangs up
		}
	}
	tests := map[string]struct {
		script  func(*testing.T, *tls.Conn)
		wantErr string // "" means success
	}{
		"ACK without command (ignored by Python)": {script: challengeThenAck(`{"status": "OK", "node_id": "` + srv.NodeID + `"}`)},
		"ACK with a payload and extra keys":       {script: challengeThenAck(`{"command": "HELLO_ACK", "status": "OK", "name": "x", "node_id": "` + srv.NodeID + `", "payload": {}}`)},
		"ACK status not OK":                       {script: challengeThenAck(`{"command": "HELLO_ACK", "status": "ERROR", "node_id": "` + srv.NodeID + `"}`), wantErr: "did not acknowledge"},
		"ACK status inside payload":               {script: challengeThenAck(`{"command": "HELLO_ACK", "payload": {"status": "OK", "node_id": "` + srv.NodeID + `"}}`), wantErr: "did not acknowledge"},
		"ACK for another node_id":                 {script: challengeThenAck(`{"command": "HELLO_ACK", "status": "OK", "node_id": "` + other.NodeID + `"}`), wantErr: "node ID mismatch"},
		"ACK without node_id":                     {script: challengeThenAck(`{"command": "HELLO_ACK", "status": "OK"}`), wantErr: "missing node_id"},
		"first frame not HELLO_CHALLENGE": {
			script: func(_ *testing.T, tc *tls.Conn) {
				_, _ = tc.Write([]byte(frameOf(`{"command": "HELLO", "payload": {}}`)))
			},
			wantErr: "expected HELLO_CHALLENGE",
		},
		"closed before the challenge": {
			script:  func(*testing.T, *tls.Conn) {},
			wantErr: "expected HELLO_CHALLENGE, got nothing",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := fakeServer(t, srv, tc.script)
			c := startPeer(t, Options{Identity: ids[1]})
			cc, err := c.Dial(testCtx(t, time.Minute), addr, srv.NodeID)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				_ = cc.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Dial error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestDialWrongNodeID: the dialler checks only the certificate's CN, after
// TLS, and hangs up; the Python server counts that as a failed HELLO.
func TestDialWrongNodeID(t *testing.T) {
	t.Parallel()
	ids := testIdentities(t, 3)
	s := startPeer(t, Options{Identity: ids[0]})
	c := startPeer(t, Options{Identity: ids[1]})
	ctx := testCtx(t, time.Minute)
	_, err := c.Dial(ctx, s.Addr(), ids[2].NodeID)
	if err == nil || !strings.Contains(err.Error(), "certificate validation failed") {
		t.Fatalf("Dial error = %v, want a CN mismatch", err)
	}
	got, err := s.WaitRejected(ctx, 1)
	if err != nil || got[0] != RejectNoHello {
		t.Fatalf("server Rejected = %q, %v; want [%q]", got, err, RejectNoHello)
	}
}

// TestDialHonoursContext: the Python dialler waits for HELLO_CHALLENGE
// forever; Dial stops when its context ends.
func TestDialHonoursContext(t *testing.T) {
	t.Parallel()
	ids := testIdentities(t, 2)
	// The context ends once the dialler waits for HELLO_CHALLENGE: the
	// silent server has completed TLS with it.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr := fakeServer(t, ids[0], func(_ *testing.T, tc *tls.Conn) { cancel(); _, _ = ReadFrame(tc, 0) })
	c := startPeer(t, Options{Identity: ids[1]})
	// Ended by its context: cancelled, or the read deadline Dial sets when
	// its context ends. Ignoring it, Dial would end a minute later with EOF.
	_, err := c.Dial(ctx, addr, ids[0].NodeID)
	if !errors.Is(err, context.Canceled) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Dial against a silent server: want it ended by its context, got %v", err)
	}
}

func TestUnsolicited(t *testing.T) {
	t.Parallel()
	s, c, cc, sc := pair(t, Options{Unsolicited: true}, Options{Unsolicited: true})
	ctx := testCtx(t, time.Minute)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	isList := func(f Frame) bool { return string(f.Raw) == "[1, 2]" }

	// What the server gets from the dialler, and the other way round.
	for side, tc := range map[string]struct {
		p        *Peer
		remoteID string
		wantGP   bool
	}{
		"server": {s, c.NodeID(), true},
		"client": {c, s.NodeID(), false},
	} {
		if tc.wantGP {
			f, err := tc.p.WaitFor(ctx, "GET_PROVIDERS")
			if err != nil {
				t.Fatalf("%s: %v", side, err)
			}
			if string(f.Raw) != `{"command": "GET_PROVIDERS"}` {
				t.Errorf("%s: GET_PROVIDERS on the wire = %s", side, f.Raw)
			}
		}
		f, err := tc.p.WaitFor(ctx, "REQUEST_CHAT_HISTORY")
		if err != nil {
			t.Fatalf("%s: %v", side, err)
		}
		// The conversation_id is the receiver's node_id: the sender asks for
		// its history with the receiver.
		if f.Payload["conversation_id"] != tc.p.NodeID() || !uuid.MatchString(fmt.Sprint(f.Payload["request_id"])) {
			t.Errorf("%s: REQUEST_CHAT_HISTORY = %s", side, f.Raw)
		}
		if _, err := tc.p.WaitFor(ctx, "GROUP_SYNC"); err != nil {
			t.Fatalf("%s: %v", side, err)
		}
		if _, err := tc.p.WaitMatch(ctx, isList); err != nil {
			t.Fatalf("%s: %v", side, err)
		}
		if _, err := tc.p.WaitFor(ctx, "CHAT_HISTORY_RESPONSE"); err != nil {
			t.Fatalf("%s: no answer to its own REQUEST_CHAT_HISTORY: %v", side, err)
		}
	}
	if _, err := c.WaitFor(ctx, "PROVIDERS_RESPONSE"); err != nil {
		t.Fatal(err)
	}

	// A second connection from the same node: no second history request.
	if err := cc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("close: %v", err)
	}
	<-sc.Done()
	if _, err := c.Dial(ctx, s.Addr(), s.NodeID()); err != nil {
		t.Fatal(err)
	}
	count := func(p *Peer, match func(Frame) bool) int {
		n := 0
		for _, f := range p.Received() {
			if match(f) {
				n++
			}
		}
		return n
	}
	waitUntil(t, ctx, func() bool { return count(s, isList) == 2 })
	if n := count(s, func(f Frame) bool { return f.Command == "REQUEST_CHAT_HISTORY" }); n != 1 {
		t.Errorf("server received %d REQUEST_CHAT_HISTORY, want 1 (once per peer)", n)
	}
	if n := count(s, func(f Frame) bool { return f.Command == "GET_PROVIDERS" }); n != 2 {
		t.Errorf("server received %d GET_PROVIDERS, want one per dial", n)
	}
}

func waitUntil(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("condition not met: %v", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestConcurrentDispatch: many requests in flight from several goroutines
// are all recorded, in per-sender order, and all answered.
func TestConcurrentDispatch(t *testing.T) {
	t.Parallel()
	s, c, cc, _ := pair(t, Options{Answer: "ok"}, Options{})
	ctx := testCtx(t, 60*time.Second)
	const senders, each = 4, 50
	errs := make(chan error, senders)
	for g := range senders {
		go func() {
			for i := range each {
				cmd := "REQUEST_CONTEXT"
				if i%2 == 1 {
					cmd = "REMOTE_INFERENCE_REQUEST"
				}
				if err := cc.Send(cmd, map[string]any{"request_id": fmt.Sprintf("%d-%03d", g, i), "prompt": "p", "query": "q"}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	isReply := func(f Frame) bool { return f.Command == "CONTEXT_RESPONSE" || f.Command == "REMOTE_INFERENCE_RESPONSE" }
	waitUntil(t, ctx, func() bool {
		n := 0
		for _, f := range c.Received() {
			if isReply(f) {
				n++
			}
		}
		return n == senders*each
	})
	last := map[string]string{}
	for _, f := range s.Received() {
		id := fmt.Sprint(f.Payload["request_id"])
		g := id[:1]
		if id <= last[g] {
			t.Errorf("request %s recorded after %s", id, last[g])
		}
		last[g] = id
	}
	if n := len(s.Received()); n != senders*each {
		t.Errorf("server recorded %d requests, want %d", n, senders*each)
	}
	seen := map[string]bool{}
	for _, f := range c.Received() {
		seen[fmt.Sprint(f.Payload["request_id"])] = true
	}
	if len(seen) != senders*each {
		t.Errorf("%d distinct replies, want %d", len(seen), senders*each)
	}
}

// TestDuplicateConnection reproduces §5.2: replies go to the newest
// connection to a node_id, and when the older one ends the server also
// closes the newer one.
func TestDuplicateConnection(t *testing.T) {
	t.Parallel()
	ids := testIdentities(t, 2)
	s := startPeer(t, Options{Identity: ids[0]})
	// Two client processes with the same identity, so that the client side's
	// own bookkeeping plays no part.
	c1 := startPeer(t, Options{Identity: ids[1]})
	c2 := startPeer(t, Options{Identity: ids[1]})
	ctx := testCtx(t, time.Minute)
	old, err := c1.Dial(ctx, s.Addr(), s.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, func() bool { return len(s.Conns()) == 1 })
	newer, err := c2.Dial(ctx, s.Addr(), s.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, func() bool { return len(s.Conns()) == 2 })

	if err := old.Send("REQUEST_CONTEXT", map[string]any{"request_id": "via-old"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.WaitFor(ctx, "CONTEXT_RESPONSE"); err != nil {
		t.Fatalf("reply did not come back on the newest connection: %v", err)
	}
	if n := len(c1.Received()); n != 0 {
		t.Errorf("old connection got %d frames, want 0", n)
	}

	_ = old.Close()
	select {
	case <-newer.Done():
	case <-ctx.Done():
		t.Fatal("server kept the newer connection after the older one ended")
	}
}

// TestCloseStopsEverything: Close cuts connections in every state.
func TestCloseStopsEverything(t *testing.T) {
	t.Parallel()
	ids := testIdentities(t, 2)
	s, err := Listen("127.0.0.1:0", Options{Identity: ids[0], Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	c := startPeer(t, Options{Identity: ids[1]})
	ctx := testCtx(t, time.Minute)

	bare, err := net.Dial("tcp", s.Addr()) // stuck before TLS
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	silent := rawTLS(t, s.Addr()) // stuck waiting for HELLO, which has no timeout
	defer silent.Close()
	if _, err := ReadFrame(silent, 0); err != nil {
		t.Fatal(err)
	}
	cc, err := c.Dial(ctx, s.Addr(), s.NodeID())
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-cc.Done():
	case <-ctx.Done():
		t.Fatal("dialler's connection still open after the server closed")
	}
	if _, err := s.WaitFor(ctx, "ANYTHING"); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitFor after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Dial(ctx, c.Addr(), c.NodeID()); err == nil {
		t.Errorf("Dial after Close succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
