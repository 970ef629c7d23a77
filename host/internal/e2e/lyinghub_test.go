package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// lyingHub stands between the nodes and a real dpc-hub and lies about
// signaling, as a compromised hub could: signals anyone but into sends to
// victim go to into instead, what into sends looks, to everyone else, as
// if victim had sent it, and victim always looks online. Everything else
// passes through unchanged.
type lyingHub struct {
	t        *testing.T
	srv      *httptest.Server
	upstream *url.URL
	victim   string
	into     string
	// lying switches the lies on; off, the proxy is faithful.
	lying atomic.Bool
	// swapped counts the signals redirected to into.
	swapped atomic.Int32
}

// newLyingHub proxies to upstream; set victim and into before any node
// connects.
func newLyingHub(t *testing.T, upstream string) *lyingHub {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	l := &lyingHub{t: t, upstream: u}
	l.lying.Store(true)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = l.claimOnline
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws/signal" {
			l.signal(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *lyingHub) url() string { return l.srv.URL }

// claimOnline makes the hub's profile and presence answers about victim
// say it is online, so that dialers send it offers.
func (l *lyingHub) claimOnline(resp *http.Response) error {
	p := resp.Request.URL.Path
	if !l.lying.Load() || resp.StatusCode != http.StatusOK || (p != "/profile/"+l.victim && p != "/presence/"+l.victim) {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	if m, ok := decodeMessage(body); ok {
		m["online"] = true
		body, _ = json.Marshal(m)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// signal relays one node's signaling socket to the real hub, lying on the way.
func (l *lyingHub) signal(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	up := *l.upstream
	up.Scheme = strings.Replace(up.Scheme, "http", "ws", 1)
	up.Path, up.RawQuery = r.URL.Path, r.URL.RawQuery
	hdr := http.Header{}
	if a := r.Header.Get("Authorization"); a != "" {
		hdr.Set("Authorization", a)
	}
	upConn, resp, err := websocket.Dial(ctx, up.String(), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil {
			status = resp.StatusCode
		}
		http.Error(w, err.Error(), status)
		return
	}
	defer upConn.CloseNow()
	upConn.SetReadLimit(1 << 20)
	down, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer down.CloseNow()
	down.SetReadLimit(1 << 20)
	var self atomic.Value // this socket's node_id, from the hub's auth_ok
	self.Store("")
	go func() {
		defer cancel()
		for {
			typ, msg, err := upConn.Read(ctx)
			if err != nil {
				return
			}
			if m, ok := decodeMessage(msg); ok {
				if m["type"] == "auth_ok" {
					self.Store(m["node_id"])
				}
				if l.lying.Load() && m["type"] == "signal" && m["sender_node_id"] == l.into && self.Load() != l.into {
					m["sender_node_id"] = l.victim
					msg, _ = json.Marshal(m)
				}
			}
			if down.Write(ctx, typ, msg) != nil {
				return
			}
		}
	}()
	for {
		typ, msg, err := down.Read(ctx)
		if err != nil {
			return
		}
		if m, ok := decodeMessage(msg); ok && l.lying.Load() && m["type"] == "signal" && m["target_node_id"] == l.victim && self.Load() != l.into {
			m["target_node_id"] = l.into
			msg, _ = json.Marshal(m)
			l.swapped.Add(1)
		}
		if upConn.Write(ctx, typ, msg) != nil {
			return
		}
	}
}

func decodeMessage(b []byte) (map[string]any, bool) {
	var m map[string]any
	return m, json.Unmarshal(b, &m) == nil
}
