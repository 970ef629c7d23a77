package dpcv1ref

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"time"
)

func (p *Peer) acceptLoop() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			select {
			case <-p.closing:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.logf("accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		tc := tls.Server(nc, p.tlsConf)
		if !p.track(tc) {
			_ = nc.Close()
			return
		}
		if !p.goTracked(func() { p.serveConn(tc) }) {
			p.untrack(tc)
			_ = nc.Close()
			return
		}
	}
}

// serveConn is _handle_direct_connection (§4.4, §5.1).
func (p *Peer) serveConn(tc *tls.Conn) {
	defer p.untrack(tc)
	remote := tc.RemoteAddr().String()
	ip, _, err := net.SplitHostPort(remote)
	if err != nil {
		ip = remote
	}

	// asyncio runs the TLS handshake before it calls the connection
	// handler, so a connection that never completes TLS (the dialler's bare
	// pre-flight connect, §5.3) never reaches the handler and is not counted
	// as a failed HELLO.
	_ = tc.SetDeadline(time.Now().Add(TLSHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		p.logf("TLS handshake with %s failed (not counted as a failed HELLO): %v", remote, err)
		_ = tc.NetConn().Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})

	if p.rateLimited(ip) {
		p.logf("rate-limited connection from %s, closing silently", ip)
		p.reject(ip, RejectRateLimited, false)
		_ = tc.Close()
		return
	}
	p.logf("received a direct TLS connection attempt from %s", remote)
	select {
	case <-time.After(ChallengeDelay):
	case <-p.closing:
		_ = tc.NetConn().Close()
		return
	}

	c, reason, detail := p.serverHandshake(tc)
	if reason != "" {
		p.logf("handshake from %s rejected: %s (%s)", remote, reason, detail)
		p.reject(ip, reason, true)
		_ = tc.Close()
		return
	}
	if !p.established(c) {
		_ = tc.NetConn().Close()
		return
	}
	p.logf("direct TLS connection established with %s (accepted)", c.nodeID)
	if p.opts.Unsolicited {
		p.goTracked(func() { p.sendUnsolicited(c) })
	}
	c.readLoop()
}

// serverHandshake sends HELLO_CHALLENGE, reads HELLO and verifies it as
// _verify_hello_identity does (§4.4, §4.5), then sends HELLO_ACK. On failure
// it returns the rejection reason and a detail for the log.
func (p *Peer) serverHandshake(tc *tls.Conn) (c *Conn, reason, detail string) {
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return nil, RejectNoHello, err.Error()
	}
	challenge := object{
		{"command", "HELLO_CHALLENGE"},
		{"payload", object{{"nonce", base64.StdEncoding.EncodeToString(nonce)}}},
	}
	if err := writeValue(tc, challenge); err != nil {
		// write_message only logs a reset; the read below then fails.
		p.logf("could not write HELLO_CHALLENGE: %v", err)
	}

	body, err := ReadFrame(tc, MaxFrameSize)
	if err != nil {
		return nil, RejectNoHello, err.Error()
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, RejectNoHello, err.Error()
	}
	msg, ok := v.(map[string]any)
	if !ok || len(msg) == 0 || msg["command"] != "HELLO" {
		return nil, RejectNoHello, "first frame is not a HELLO: " + string(body)
	}
	payload := map[string]any{}
	if raw, present := msg["payload"]; present {
		if payload, ok = raw.(map[string]any); !ok {
			return nil, RejectNoHello, "HELLO payload is not an object"
		}
	}
	nodeIDv := payload["node_id"]
	if !truthy(nodeIDv) {
		return nil, RejectNoNodeID, "peer did not provide a node_id"
	}
	if !truthy(payload["cert_pem"]) || !truthy(payload["nonce_signature"]) {
		return nil, RejectOutdated, "peer may be running an outdated version"
	}
	if reason, detail := p.verifyHello(nodeIDv, payload["cert_pem"], nonce, payload["nonce_signature"]); reason != "" {
		return nil, reason, detail
	}
	nodeID := nodeIDv.(string) // verifyHello compared it with a CN string

	ack := object{
		{"command", "HELLO_ACK"},
		{"status", "OK"},
		{"name", nullable(p.opts.Name)},
		{"node_id", p.id.NodeID},
	}
	if err := writeValue(tc, ack); err != nil {
		return nil, RejectNoHello, "could not write HELLO_ACK: " + err.Error()
	}
	name, _ := payload["name"].(string)
	hello := Frame{From: nodeID, Command: "HELLO", Payload: payload, Object: msg, Raw: body}
	return newConn(p, tc, nodeID, name, true, hello), "", ""
}

// verifyHello is _verify_hello_identity's three checks: the certificate's
// first CN equals the claimed node_id, the node_id derived from the
// certificate's key equals it, and an RSA-PSS SHA-256 signature over the raw
// nonce verifies (salt exactly maximal with StrictSalt, any salt otherwise).
// Validity dates and the certificate's own signature are not checked.
func (p *Peer) verifyHello(nodeID, certPEM any, nonce []byte, sigB64 any) (reason, detail string) {
	pemText, ok := certPEM.(string)
	if !ok {
		return RejectBadCert, fmt.Sprintf("cert_pem is a %T", certPEM)
	}
	cert, err := parseCertPEM([]byte(pemText))
	if err != nil {
		return RejectBadCert, err.Error()
	}
	if cn, ok := firstCN(cert); !ok || cn != nodeID {
		return RejectCNMismatch, fmt.Sprintf("cert CN %q != claimed node_id %v", cn, nodeID)
	}
	derived, err := NodeID(cert.PublicKey)
	if err != nil {
		return RejectKeyMismatch, err.Error()
	}
	if derived != nodeID {
		return RejectKeyMismatch, fmt.Sprintf("cert public key hashes to %s but claimed node_id is %v", derived, nodeID)
	}
	s, ok := sigB64.(string)
	if !ok {
		return RejectBadSignature, fmt.Sprintf("nonce_signature is a %T", sigB64)
	}
	sig, err := pyB64Decode(s)
	if err != nil {
		return RejectBadSignature, "nonce_signature: " + err.Error()
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return RejectNotRSA, fmt.Sprintf("cert key is a %T", cert.PublicKey)
	}
	salt := rsa.PSSSaltLengthAuto
	if p.opts.StrictSalt {
		salt = maxSalt(pub)
	}
	digest := sha256.Sum256(nonce)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256}); err != nil {
		return RejectBadSignature, err.Error()
	}
	return "", ""
}

// maxSalt is PSS.MAX_LENGTH for SHA-256: emLen - hLen - 2, 222 for RSA-2048.
func maxSalt(pub *rsa.PublicKey) int {
	emLen := (pub.N.BitLen() - 1 + 7) / 8
	return emLen - sha256.Size - 2
}

// Dial connects to a D-PC node the way connect_directly does (§2.2, §4.4):
// a bare TCP connect that is closed at once (the pre-flight, §5.3), then
// TCP+TLS with no client certificate and no verification except that the
// server certificate's first CN is expectedNodeID; then it requires
// HELLO_CHALLENGE as the first frame, signs the raw nonce with RSA-PSS
// SHA-256 and the maximum salt, sends HELLO {node_id, name, cert_pem,
// nonce_signature} (through Options.HelloHook if set) and requires a reply
// with status "OK" and node_id == expectedNodeID. ctx bounds the whole
// handshake; each connect is also bounded by ConnectTimeout.
func (p *Peer) Dial(ctx context.Context, addr, expectedNodeID string) (*Conn, error) {
	d := net.Dialer{Timeout: ConnectTimeout}
	pre, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: pre-flight connect to %s: %w", addr, err)
	}
	_ = pre.Close()

	td := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: ConnectTimeout, KeepAliveConfig: keepAlive},
		Config:    &tls.Config{InsecureSkipVerify: true},
	}
	nc, err := td.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: TLS connect to %s: %w", addr, err)
	}
	tc := nc.(*tls.Conn)
	if !p.track(tc) {
		_ = nc.Close()
		return nil, ErrClosed
	}
	stop := context.AfterFunc(ctx, func() { _ = tc.SetDeadline(time.Unix(1, 0)) })
	c, err := p.clientHandshake(tc, expectedNodeID)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = tc.Close()
		p.untrack(tc)
		return nil, fmt.Errorf("dpcv1ref: dial %s: %w", addr, err)
	}
	_ = tc.SetDeadline(time.Time{})
	if !p.established(c) {
		_ = tc.NetConn().Close()
		p.untrack(tc)
		return nil, ErrClosed
	}
	if !p.goTracked(func() {
		defer p.untrack(tc)
		c.readLoop()
	}) {
		_ = tc.NetConn().Close()
		c.closeOnce.Do(func() { close(c.done) })
		p.untrack(tc)
		return nil, ErrClosed
	}
	p.logf("direct connection established with %s (dialled %s)", expectedNodeID, addr)
	if p.opts.Unsolicited {
		if err := c.Send("GET_PROVIDERS", nil); err != nil {
			p.logf("failed to request providers from %s: %v", expectedNodeID, err)
		}
		p.goTracked(func() { p.sendUnsolicited(c) })
	}
	return c, nil
}

func (p *Peer) clientHandshake(tc *tls.Conn, expected string) (*Conn, error) {
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("no peer certificate")
	}
	if cn, ok := firstCN(certs[0]); !ok || cn == "" {
		return nil, errors.New("certificate has no Common Name")
	} else if cn != expected {
		return nil, fmt.Errorf("certificate validation failed: CN=%q but expected node_id %q", cn, expected)
	}

	body, err := ReadFrame(tc, MaxFrameSize)
	if err != nil {
		return nil, fmt.Errorf("expected HELLO_CHALLENGE, got nothing: %w", err)
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("expected HELLO_CHALLENGE, got nothing: %w", err)
	}
	msg, _ := v.(map[string]any)
	if msg["command"] != "HELLO_CHALLENGE" {
		return nil, fmt.Errorf("expected HELLO_CHALLENGE, got %s", body)
	}
	pl, _ := msg["payload"].(map[string]any)
	nonceB64, ok := pl["nonce"].(string)
	if !ok {
		return nil, fmt.Errorf("HELLO_CHALLENGE without a nonce: %s", body)
	}
	nonce, err := pyB64Decode(nonceB64)
	if err != nil {
		return nil, fmt.Errorf("HELLO_CHALLENGE nonce: %w", err)
	}
	digest := sha256.Sum256(nonce)
	// PSSSaltLengthAuto signs with the maximum salt, PSS.MAX_LENGTH (§4.5).
	sig, err := rsa.SignPSS(rand.Reader, p.id.Key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256})
	if err != nil {
		return nil, fmt.Errorf("sign nonce: %w", err)
	}
	hello := map[string]any{
		"node_id":         p.id.NodeID,
		"name":            nullable(p.opts.Name),
		"cert_pem":        string(p.id.CertPEM),
		"nonce_signature": base64.StdEncoding.EncodeToString(sig),
	}
	if p.opts.HelloHook != nil {
		p.opts.HelloHook(nonce, hello)
	}
	frame := object{
		{"command", "HELLO"},
		{"payload", ordered(hello, "node_id", "name", "cert_pem", "nonce_signature")},
	}
	if err := writeValue(tc, frame); err != nil {
		return nil, fmt.Errorf("send HELLO: %w", err)
	}

	body, err = ReadFrame(tc, MaxFrameSize)
	if err != nil {
		return nil, fmt.Errorf("peer did not acknowledge HELLO: %w", err)
	}
	v, err = decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("peer did not acknowledge HELLO: %w", err)
	}
	ack, _ := v.(map[string]any)
	if ack["status"] != "OK" {
		return nil, fmt.Errorf("peer did not acknowledge HELLO: %s", body)
	}
	if !truthy(ack["node_id"]) {
		return nil, fmt.Errorf("HELLO_ACK missing node_id: %s", body)
	}
	if ack["node_id"] != expected {
		return nil, fmt.Errorf("node ID mismatch: expected %s but peer reports %v", expected, ack["node_id"])
	}
	name, _ := ack["name"].(string)
	cmd, _ := ack["command"].(string)
	hs := Frame{From: expected, Command: cmd, Object: ack, Raw: body}
	return newConn(p, tc, expected, name, false, hs), nil
}

// truthy is Python's truth value of a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
