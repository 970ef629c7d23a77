package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/store/badgerstore"
	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// testHub is a hub on an httptest server whose URL is its audience.
type testHub struct {
	URL string
	srv *Server
	st  store.Store
}

func newTestHub(t testing.TB, mutate func(*Config)) *testHub {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	st, err := badgerstore.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Audience: url, Secret: bytes.Repeat([]byte{7}, 32)}, st)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Authority: a, Store: st, Version: "test", Limits: Limits{}}
	if mutate != nil {
		mutate(&cfg)
	}
	s := New(cfg)
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
		_ = st.Close()
	})
	return &testHub{URL: url, srv: s, st: st}
}

// do sends a JSON request and decodes a JSON answer into out (if non-nil).
func (h *testHub) do(t testing.TB, method, path, token string, body any, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	return h.send(t, method, path, token, nil, rd, out)
}

// send sends body with the headers (and the token, if any) and decodes a
// JSON answer into out (if non-nil).
func (h *testHub) send(t testing.TB, method, path, token string, header http.Header, body io.Reader, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, h.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, raw, err)
		}
	}
	return resp
}

func (h *testHub) challenge(t testing.TB) string {
	t.Helper()
	var c challengeBody
	if resp := h.do(t, "POST", "/login/challenge", "", nil, &c); resp.StatusCode != 200 {
		t.Fatalf("challenge: %s", resp.Status)
	}
	return c.Nonce
}

func loginBodyFor(n testnode.Node, nodeID, nonce string, sig []byte) loginBody {
	if nodeID == "" {
		nodeID = n.NodeID
	}
	return loginBody{NodeID: nodeID, Certificate: string(n.CertPEM), Nonce: nonce,
		Signature: base64.StdEncoding.EncodeToString(sig), Algorithm: nodeid.AlgEd25519}
}

// login logs n in over HTTP.
func (h *testHub) login(t testing.TB, n testnode.Node) tokensBody {
	t.Helper()
	nonce := h.challenge(t)
	var tok tokensBody
	var e errorBody
	resp := h.do(t, "POST", "/login", "", loginBodyFor(n, "", nonce, n.Sign(t, h.URL, "", nonce)), &tok)
	if resp.StatusCode != 200 {
		_ = json.Unmarshal(nil, &e)
		t.Fatalf("login: %s %+v", resp.Status, tok)
	}
	return tok
}

// dial opens a signaling socket and reads auth_ok.
func (h *testHub) dial(t testing.TB, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+h.URL[len("http"):]+"/ws/signal", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	if m := read(t, c); m.Type != "auth_ok" {
		t.Fatalf("first message: want auth_ok, got %+v", m)
	}
	return c
}

func send(t testing.TB, c *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func read(t testing.TB, c *websocket.Conn) serverMessage {
	t.Helper()
	m, err := readErr(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func readErr(c *websocket.Conn) (serverMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return serverMessage{}, err
	}
	var m serverMessage
	err = json.Unmarshal(b, &m)
	return m, err
}
