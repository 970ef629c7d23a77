package network_test

// Interoperability with D-PC Messenger v1, against the reference v1 peer of
// package dpcv1ref (written from reference/dpc-legacy-wire.md, test-only):
// a real node of ours with an RSA identity and its transport-direct
// subprocess on one side, the reference peer on the other, over loopback.

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dpcv1ref"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/personal"
)

// ourContext is our node's personal context; the firewall shares only
// profile.name with contacts.
var ourContext = map[string]any{
	"profile":   map[string]any{"name": "Gopher", "email": "gopher@example.org"},
	"knowledge": map[string]any{"cooking": map[string]any{"summary": "secret recipes"}},
}

const v1Rules = `rule "group" "contacts" {
  allow = ["messages", "history", "context:profile.name", "compute", "model:echo"]
}
rule "scope" "default" { allow = ["context:*"] }`

type staticContext struct{ doc map[string]any }

func (s staticContext) View() (map[string]any, string) { return s.doc, personal.Hash(s.doc) }

// newRSANode is one of our nodes, RSA, with D-PC v1 compatibility as given.
func newRSANode(t *testing.T, kt identity.KeyType, v1 bool) *nettest.Node {
	t.Helper()
	return nettest.NewNode(t, nettest.Options{Name: "Gopher", KeyType: kt, DPCv1: v1, Firewall: v1Rules,
		Intel: func(n *nettest.Node) intel.Answerer {
			return &intel.Responder{Context: staticContext{ourContext}, Firewall: n.Firewall, Contacts: n.Peers,
				Models: llm.New(llmtest.Echo(), nil)}
		}})
}

func newRefIdentity(t *testing.T) *dpcv1ref.Identity {
	t.Helper()
	id, err := dpcv1ref.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// makeV1Contact makes id a contact the user marked as a D-PC v1 node.
func makeV1Contact(t *testing.T, n *nettest.Node, id string) {
	t.Helper()
	if _, err := n.Peers.Update(id, func(p *peers.Peer) { p.Contact, p.V1 = true, true }); err != nil {
		t.Fatal(err)
	}
}

func addr(n *nettest.Node) string { return fmt.Sprintf("127.0.0.1:%d", n.Port) }

// v1PeerDialsUs connects a D-PC v1 reference peer, a contact marked v1
// that sends D-PC's unsolicited requests, to a new RSA node of ours.
func v1PeerDialsUs(t *testing.T, ctx context.Context) (ours *nettest.Node, refID *dpcv1ref.Identity, ref *dpcv1ref.Peer, conn *dpcv1ref.Conn) {
	t.Helper()
	ours = newRSANode(t, identity.KeyRSA, true)
	refID = newRefIdentity(t)
	ref, err := dpcv1ref.Listen("127.0.0.1:0", dpcv1ref.Options{Identity: refID, Name: "Pythonista", Unsolicited: true, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Close() })
	makeV1Contact(t, ours, refID.NodeID)
	conn, err = ref.Dial(ctx, addr(ours), ours.ID.NodeID)
	if err != nil {
		t.Fatalf("the v1 peer's handshake with our node: %v", err)
	}
	return ours, refID, ref, conn
}

func TestV1PeerDialsUs(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	ours, refID, ref, conn := v1PeerDialsUs(t, ctx)

	// Its unsolicited GET_PROVIDERS, REQUEST_CHAT_HISTORY, GROUP_SYNC and a
	// non-object frame do not cost the connection: text still gets through.
	if err := conn.Send("SEND_TEXT", map[string]any{"text": "hello from python"}); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "the v1 message in our history", func() bool {
		h, _ := ours.Chat.History(refID.NodeID, time.Time{}, 0)
		return len(h) == 1 && h[0].Text == "hello from python" && h[0].State == chat.StateReceived
	})
	st, err := ours.Net.Peers()
	if err != nil || len(st) != 1 || st[0].Protocol != peers.ProtocolV1 || st[0].State != "connected" || st[0].Name != "Pythonista" {
		t.Fatalf("want the v1 peer connected and marked dpc-v1, got %+v (%v)", st, err)
	}

	// A context request is answered in D-PC's layout with only what the
	// firewall shares.
	if err := conn.Send("REQUEST_CONTEXT", map[string]any{"request_id": "6f1c2b9e-1111-4c3b-9a55-aaaaaaaaaaaa", "query": "who?", "requestor_id": refID.NodeID}); err != nil {
		t.Fatal(err)
	}
	f, err := ref.WaitFor(ctx, "CONTEXT_RESPONSE")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.Payload["context"].(map[string]any)
	profile, _ := c["profile"].(map[string]any)
	// D-PC's Profile requires a description: the withheld one is empty.
	if f.Payload["request_id"] != "6f1c2b9e-1111-4c3b-9a55-aaaaaaaaaaaa" || profile["name"] != "Gopher" || profile["description"] != "" || len(profile) != 2 {
		t.Errorf("CONTEXT_RESPONSE: want request_id echoed and only profile.name (with an empty description), got %s", f.Raw)
	}
	if f.ContextErr != nil {
		t.Errorf("CONTEXT_RESPONSE: D-PC v0.27 would drop it: %v", f.ContextErr)
	}
	if strings.Contains(string(f.Raw), "gopher@example.org") || strings.Contains(string(f.Raw), "secret recipes") {
		t.Errorf("CONTEXT_RESPONSE holds withheld fields: %s", f.Raw)
	}
	for _, k := range []string{"knowledge", "preferences", "commit_history", "metadata"} {
		if _, ok := c[k]; !ok {
			t.Errorf("CONTEXT_RESPONSE: want D-PC's %q field present (empty), got %s", k, f.Raw)
		}
	}

	// Its GET_PROVIDERS (sent unsolicited at connect) was answered.
	f, err = ref.WaitFor(ctx, "PROVIDERS_RESPONSE")
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := f.Payload["providers"].([]any); len(list) != 1 || list[0].(map[string]any)["model"] != "echo" {
		t.Errorf("PROVIDERS_RESPONSE: want model echo, got %s", f.Raw)
	}

	// A remote inference round trip, D-PC's single prompt string.
	if err := conn.Send("REMOTE_INFERENCE_REQUEST", map[string]any{"request_id": "req-1", "prompt": "say hi", "model": "echo"}); err != nil {
		t.Fatal(err)
	}
	f, err = ref.WaitFor(ctx, "REMOTE_INFERENCE_RESPONSE")
	if err != nil {
		t.Fatal(err)
	}
	if f.Payload["status"] != "success" || f.Payload["response"] != "echo: say hi" {
		t.Errorf("REMOTE_INFERENCE_RESPONSE: want success with the echo, got %s", f.Raw)
	}
	// Its chat history request gets D-PC's fields.
	f, err = ref.WaitFor(ctx, "CHAT_HISTORY_RESPONSE")
	if err != nil {
		t.Fatal(err)
	}
	if f.Payload["conversation_id"] == nil || f.Payload["total_count"] == nil {
		t.Errorf("CHAT_HISTORY_RESPONSE: want conversation_id and total_count, got %s", f.Raw)
	}
}

// TestV1HistoryOfNothingCarriesTotalCount: D-PC always sends total_count,
// 0 included, and reads it from the answer; an empty history once went
// out without it (omitempty).
func TestV1HistoryOfNothingCarriesTotalCount(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	_, _, ref, _ := v1PeerDialsUs(t, ctx)
	// Its unsolicited REQUEST_CHAT_HISTORY, with nothing to answer.
	f, err := ref.WaitFor(ctx, "CHAT_HISTORY_RESPONSE")
	if err != nil {
		t.Fatal(err)
	}
	if total, ok := f.Payload["total_count"]; !ok || total != float64(0) || f.Payload["conversation_id"] == nil {
		t.Errorf("CHAT_HISTORY_RESPONSE of an empty history: want total_count 0 and conversation_id, got %s", f.Raw)
	}
}

func TestWeDialV1Peer(t *testing.T) {
	t.Parallel()
	ours := newRSANode(t, identity.KeyRSA, true)
	refID := newRefIdentity(t)
	ref, err := dpcv1ref.Listen("127.0.0.1:0", dpcv1ref.Options{Identity: refID, Name: "Pythonista", StrictSalt: true, Unsolicited: true,
		Context:   map[string]any{"profile": map[string]any{"name": "Pythonista"}, "knowledge": map[string]any{}, "preferences": nil},
		Providers: []map[string]any{{"alias": "ollama_text", "model": "llama3.1:8b", "type": "ollama", "supports_vision": false, "supports_voice": false, "context_window": 8192}},
		Answer:    "the python answer", Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	st, err := ours.Net.Connect(ctx, "dpc://"+ref.Addr()+"?node_id="+refID.NodeID, network.ConnectOptions{V1: true})
	if err != nil || st.State != "connected" {
		t.Fatalf("connect to the v1 peer (strict salt check on its side): %+v %v", st, err)
	}
	if st.Protocol != peers.ProtocolV1 {
		t.Errorf("want the peer marked %s, got %q", peers.ProtocolV1, st.Protocol)
	}

	m, err := ours.Chats.Send(refID.NodeID, "hello from go")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ref.WaitFor(ctx, "SEND_TEXT")
	if err != nil {
		t.Fatal(err)
	}
	if f.Payload["text"] != "hello from go" {
		t.Errorf("SEND_TEXT: want the text, got %s", f.Raw)
	}
	nettest.WaitFor(t, "the message marked delivered without an ACK", func() bool {
		h, _ := ours.Chat.History(refID.NodeID, time.Time{}, 0)
		return len(h) == 1 && h[0].ID == m.ID && h[0].State == chat.StateDelivered
	})

	shared, err := ours.Intel.PeerContext(ctx, refID.NodeID, "who are you?", false)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := shared.Doc["profile"].(map[string]any); p["name"] != "Pythonista" || len(shared.Doc) != 1 {
		t.Errorf("the v1 peer's context: want only its profile (empty fields dropped), got %v", shared.Doc)
	}

	providers, err := ours.Intel.Providers(ctx, refID.NodeID)
	if err != nil {
		t.Fatalf("GET_PROVIDERS to a v1 peer (its answer has no request_id): %v", err)
	}
	if len(providers) != 1 || providers[0].Model != "llama3.1:8b" || providers[0].ContextWindow == nil || *providers[0].ContextWindow != 8192 {
		t.Errorf("providers: got %+v", providers)
	}

	var streamed string
	resp, err := ours.Intel.RemoteInference(ctx, refID.NodeID, dptp.RemoteInferenceRequest{Model: "llama3.1:8b",
		Messages: []dptp.PromptMessage{{Role: "system", Content: "context here"}, {Role: "user", Content: "what is up?"}}},
		func(s string) error { streamed += s; return nil })
	if err != nil || resp.Response != "the python answer" || streamed != "" {
		t.Fatalf("remote inference on the v1 peer: %+v %q %v", resp, streamed, err)
	}
	f, err = ref.WaitFor(ctx, "REMOTE_INFERENCE_REQUEST")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := f.Payload["prompt"].(string); !strings.HasSuffix(p, "USER QUERY: what is up?") || !strings.HasPrefix(p, "context here") {
		t.Errorf("want D-PC's single prompt string, got %s", f.Raw)
	}
	if st, _ := ours.Net.Peers(); len(st) != 1 || st[0].State != "connected" {
		t.Errorf("want the session to survive the v1 peer's unsolicited frames, got %+v", st)
	}
}

func TestV1HandshakeRefusals(t *testing.T) {
	t.Parallel()
	edPEM, edID, err := dpcv1ref.NewEd25519CertPEM()
	if err != nil {
		t.Fatal(err)
	}
	other := newRefIdentity(t)
	tests := map[string]struct {
		keyType    identity.KeyType
		compat     bool
		hook       func(nonce []byte, h map[string]any)
		wantReason string
	}{
		"wrong signature": {keyType: identity.KeyRSA, compat: true,
			hook: func(_ []byte, h map[string]any) {
				h["nonce_signature"] = base64.StdEncoding.EncodeToString(make([]byte, 256))
			},
			wantReason: "nonce signature"},
		"certificate key does not hash to the node_id": {keyType: identity.KeyRSA, compat: true,
			hook:       func(_ []byte, h map[string]any) { h["cert_pem"] = string(other.CertPEM) },
			wantReason: "certificate CN"},
		"HELLO with a non-RSA key": {keyType: identity.KeyRSA, compat: true,
			hook:       func(_ []byte, h map[string]any) { h["cert_pem"], h["node_id"] = string(edPEM), edID },
			wantReason: "D-PC v1 peers prove themselves with RSA"},
		"our node has an Ed25519 key": {keyType: identity.KeyEd25519, compat: true,
			wantReason: "need an RSA identity"},
		"compatibility switched off": {keyType: identity.KeyRSA, compat: false,
			wantReason: "compatibility is off"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ours := newRSANode(t, tc.keyType, tc.compat)
			refID := newRefIdentity(t)
			ref, err := dpcv1ref.Listen("127.0.0.1:0", dpcv1ref.Options{Identity: refID, HelloHook: tc.hook, Log: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ref.Close() })
			events, stop := ours.Net.Bus().Subscribe()
			defer stop()
			ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
			defer cancel()
			if _, err := ref.Dial(ctx, addr(ours), ours.ID.NodeID); err == nil {
				t.Fatal("want the handshake refused, it succeeded")
			}
			// The v1 peer may see the connection end before our node has
			// recorded why: wait for the refusal's event.
			r := nettest.NextEvent(t, events, "connection_refused").Data.(network.Refusal)
			if !strings.Contains(r.Reason, tc.wantReason) {
				t.Errorf("want a refusal with %q, got %q", tc.wantReason, r.Reason)
			}
			if !slices.Contains(ours.Net.Refusals(), r) {
				t.Errorf("want the refusal recorded, got %+v", ours.Net.Refusals())
			}
			if st, _ := ours.Net.Peers(); len(st) != 0 {
				t.Errorf("want no peer recorded, got %+v", st)
			}
		})
	}
}

// TestV1PostConnectNameWithEscapesIgnored: the name a D-PC v1 peer sends
// after connecting is checked like a HELLO's (dptp.CheckName); one holding
// terminal escapes or longer than dptp.MaxNameLen is ignored, and the
// session goes on. Before, any valid UTF-8 up to the length was taken.
func TestV1PostConnectNameWithEscapesIgnored(t *testing.T) {
	t.Parallel()
	ours := newRSANode(t, identity.KeyRSA, true)
	refID := newRefIdentity(t)
	ref, err := dpcv1ref.Listen("127.0.0.1:0", dpcv1ref.Options{Identity: refID, Name: "Pythonista", Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Close() })
	makeV1Contact(t, ours, refID.NodeID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := ref.Dial(ctx, addr(ours), ours.ID.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Eve\x1b[2J\x1b]0;owned\a", strings.Repeat("E", dptp.MaxNameLen+1)} {
		if err := conn.Send("HELLO", map[string]any{"name": name}); err != nil {
			t.Fatal(err)
		}
	}
	// Frames are handled in order: once the text is stored, the names were seen.
	if err := conn.Send("SEND_TEXT", map[string]any{"text": "after the names"}); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "the v1 message in our history", func() bool {
		h, _ := ours.Chat.History(refID.NodeID, time.Time{}, 0)
		return len(h) == 1
	})
	p, err := ours.Peers.Get(refID.NodeID)
	if err != nil || p.Name != "Pythonista" {
		t.Errorf("want the handshake's name Pythonista kept, got %q (%v)", p.Name, err)
	}
}
