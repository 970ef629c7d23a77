package sdktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/schema"
)

// Options tunes Conformance for one plugin.
type Options struct {
	// Config returns a valid configuration (a pointer to the plugin's config
	// struct, or json.RawMessage). Nil means the plugin's DefaultConfig.
	Config func(t testing.TB) any
	// SkipKindChecks skips the kind-specific round trips, for plugins whose
	// backend the test does not provide. The Hub checks need no hub: they
	// cover what a connector must do before it has logged in.
	SkipKindChecks bool
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	semverRE = regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// unknownAttribute is an attribute name no plugin declares.
const unknownAttribute = "sdktest_conformance_unknown_attribute"

// Conformance runs the checks every plugin should pass, each as a subtest,
// against fresh instances from newImpl served over real gRPC.
func Conformance(t *testing.T, newImpl func() sdk.Plugin, opts Options) {
	config := func(t testing.TB) any {
		if opts.Config != nil {
			return opts.Config(t)
		}
		if c, ok := newImpl().(sdk.Configurable); ok {
			return c.DefaultConfig()
		}
		return nil
	}
	ctx := context.Background()

	t.Run("info", func(t *testing.T) {
		impl := newImpl()
		info := New(t, impl).Client.Info
		if !nameRE.MatchString(info.Name) {
			t.Errorf("Info.Name: want lower-case letters, digits and dashes, got %q", info.Name)
		}
		if !semverRE.MatchString(info.Version) {
			t.Errorf("Info.Version: want a semantic version like 1.2.3, got %q", info.Version)
		}
		if want := sdk.KindOf(impl); info.Kind != want {
			t.Errorf("Info.Kind: want %q, got %q", want, info.Kind)
		}
		if !slices.Contains(info.APIVersions, sdk.APIVersion) {
			t.Errorf("Info.APIVersions: want it to contain %d, got %v", sdk.APIVersion, info.APIVersions)
		}
	})

	t.Run("config_schema", func(t *testing.T) {
		impl := newImpl()
		sch, err := New(t, impl).Client.ConfigSchema(ctx)
		if err != nil {
			t.Fatalf("ConfigSchema: %v", err)
		}
		if _, ok := impl.(sdk.Configurable); ok && sch == nil {
			t.Errorf("a Configurable plugin must declare a schema, got none")
		}
	})

	t.Run("shutdown_without_configure", func(t *testing.T) {
		if err := New(t, newImpl()).Plugin().Shutdown(ctx); err != nil {
			t.Errorf("Shutdown before Configure: want nil, got %v", err)
		}
	})

	t.Run("configure_twice_ping_shutdown", func(t *testing.T) {
		h := New(t, newImpl())
		for i := range 2 {
			if err := h.Configure(t, config(t)); err != nil {
				t.Fatalf("Configure #%d: %v", i+1, err)
			}
		}
		if err := h.Client.Ping(ctx); err != nil {
			t.Errorf("Ping after Configure: %v", err)
		}
		if err := h.Plugin().Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})

	t.Run("unknown_attribute_rejected", func(t *testing.T) {
		h := New(t, newImpl())
		// The unknown attribute goes on top of a valid config, so that a
		// plugin with required attributes fails for the right reason.
		raw, err := withUnknownAttribute(config(t))
		if err != nil {
			t.Fatalf("building the config: %v", err)
		}
		err = h.Configure(t, raw)
		if err == nil {
			t.Fatalf("want an error for an unknown attribute, got nil")
		}
		if _, ok := newImpl().(sdk.Configurable); !ok {
			return
		}
		for _, ce := range sdk.ConfigErrors(err) {
			if slices.Contains(ce.Path, unknownAttribute) {
				return
			}
		}
		t.Errorf("want a ConfigError whose path names %q, got %v", unknownAttribute, err)
	})

	if opts.SkipKindChecks {
		return
	}
	switch sdk.KindOf(newImpl()) {
	case sdk.KindLLM:
		t.Run("llm_round_trip", func(t *testing.T) {
			h := New(t, newImpl())
			mustConfigure(t, h, config(t))
			checkLLM(t, h.Client.LLM)
		})
	case sdk.KindBackup:
		t.Run("backup_round_trip", func(t *testing.T) {
			h := New(t, newImpl())
			mustConfigure(t, h, config(t))
			checkBackup(t, h.Client.Backup)
		})
	case sdk.KindTransport:
		t.Run("transport_round_trip", func(t *testing.T) {
			h := New(t, newImpl())
			mustConfigure(t, h, config(t))
			checkTransport(t, h.Client.Transport)
		})
	case sdk.KindHub:
		t.Run("hub_before_login", func(t *testing.T) {
			h := New(t, newImpl())
			mustConfigure(t, h, config(t))
			checkHubBeforeLogin(t, h.Client.Hub)
		})
	}
}

// withUnknownAttribute encodes cfg (nil, JSON or a pointer to a config
// struct) as a JSON object and adds unknownAttribute to it.
func withUnknownAttribute(cfg any) (json.RawMessage, error) {
	var raw []byte
	switch c := cfg.(type) {
	case nil:
		raw = []byte("{}")
	case json.RawMessage:
		raw = c
	default:
		var err error
		if raw, err = schema.Encode(c); err != nil {
			return nil, err
		}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		obj = map[string]json.RawMessage{}
	}
	obj[unknownAttribute] = json.RawMessage("true")
	return json.Marshal(obj)
}

func mustConfigure(t *testing.T, h *Harness, cfg any) {
	t.Helper()
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

func checkLLM(t *testing.T, l sdk.LLM) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	models, err := l.ListModels(ctx)
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	if len(models) == 0 || models[0].ID == "" {
		t.Fatalf("ListModels: want at least one model with an ID, got %+v", models)
	}
	var text strings.Builder
	res, err := l.Generate(ctx, sdk.GenerateRequest{
		Model:    models[0].ID,
		Messages: []sdk.Message{{Role: sdk.RoleUser, Content: "Say hello."}},
	}, func(d string) error { text.WriteString(d); return nil })
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if res.FinishReason == "" {
		t.Errorf("Generate: want a FinishReason, got none (text %q)", text.String())
	}
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err := l.Generate(cctx, sdk.GenerateRequest{Model: models[0].ID,
		Messages: []sdk.Message{{Role: sdk.RoleUser, Content: "x"}}}, func(string) error { return nil }); err == nil {
		t.Errorf("Generate with a cancelled context: want an error, got nil")
	}
}

func checkBackup(t *testing.T, b sdk.Backup) {
	ctx := context.Background()
	const key = "sdktest/conformance/object.bin"
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	put, err := b.Put(ctx, sdk.PutRequest{Key: key, Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info := put.Object; info.Size != int64(len(data)) || info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Put: want size %d sha256 %x, got %d %s", len(data), sum, put.Object.Size, put.Object.SHA256)
	}
	obj, err := b.Get(ctx, sdk.GetRequest{Key: key})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got, err := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get: want the %d bytes stored, got %d bytes (err %v)", len(data), len(got), err)
	}
	if st, err := b.Stat(ctx, sdk.StatRequest{Key: key}); err != nil || st.Object.Key != key {
		t.Errorf("Stat: want key %q, got %+v (err %v)", key, st, err)
	}
	list, err := b.List(ctx, sdk.ListRequest{Prefix: "sdktest/conformance/"})
	if err != nil || !slices.ContainsFunc(list.Objects, func(o sdk.ObjectInfo) bool { return o.Key == key }) {
		t.Errorf("List: want %q listed, got %+v (err %v)", key, list.Objects, err)
	}
	if err := b.Delete(ctx, sdk.DeleteRequest{Key: key}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Stat(ctx, sdk.StatRequest{Key: key}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Stat after Delete: want sdk.ErrNotFound, got %v", err)
	}
	if _, err := b.Get(ctx, sdk.GetRequest{Key: key}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Get after Delete: want sdk.ErrNotFound, got %v", err)
	}
	if err := b.Delete(ctx, sdk.DeleteRequest{Key: key}); err != nil {
		t.Errorf("Delete of a missing key: want nil, got %v", err)
	}
}

func checkTransport(t *testing.T, tr sdk.Transport) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := tr.Listen(ctx, sdk.ListenRequest{Addresses: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	if len(ln.URIs()) == 0 {
		t.Skip("the listener reports no URI to dial")
	}
	accepted := make(chan sdk.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			close(accepted)
			return
		}
		accepted <- c
	}()
	dialed, err := tr.Dial(ctx, sdk.DialRequest{URI: ln.URIs()[0] + "?node_id=" + TestNodeID, ExpectedNodeID: TestNodeID})
	if err != nil {
		t.Fatalf("Dial %s: %v", ln.URIs()[0], err)
	}
	defer dialed.Close()
	peer, ok := <-accepted
	if !ok {
		return
	}
	defer peer.Close()

	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	go func() {
		_, _ = dialed.Write(data)
		_ = dialed.CloseWrite()
	}()
	got, err := io.ReadAll(peer)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("dialer→acceptor: want %d bytes then EOF, got %d (err %v)", len(data), len(got), err)
	}
	if _, err := peer.Write([]byte("pong")); err != nil {
		t.Fatalf("acceptor→dialer write: %v", err)
	}
	_ = peer.CloseWrite()
	back, err := io.ReadAll(dialed)
	if err != nil || string(back) != "pong" {
		t.Errorf("acceptor→dialer: want %q then EOF, got %q (err %v)", "pong", back, err)
	}
}

// checkHubBeforeLogin checks the contract of sdk.Hub that holds before any
// login: calls that need one fail with ErrPermissionDenied, a session the
// plugin did not make is refused with ErrInvalidArgument, and nothing hangs.
func checkHubBeforeLogin(t *testing.T, hub sdk.Hub) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	peer := "dpc-node-0123456789abcdef0123456789abcdef"
	calls := map[string]func() error{
		"Logout": func() error { return hub.Logout(ctx) },
		"PublishPresence": func() error {
			return hub.PublishPresence(ctx, sdk.PublishPresenceRequest{Status: "online", ProfileJSON: []byte(`{"name":"n"}`)})
		},
		"LookupPeer":  func() error { _, err := hub.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: peer}); return err },
		"SearchPeers": func() error { _, err := hub.SearchPeers(ctx, sdk.SearchPeersRequest{Query: "go"}); return err },
		"Signals":     func() error { return hub.Signals(ctx, func(sdk.IncomingSignal) error { return nil }) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, sdk.ErrPermissionDenied) {
			t.Errorf("%s before Login: want an error wrapping sdk.ErrPermissionDenied, got %v", name, err)
		}
	}
	// Accounts are optional: a hub without them answers ErrUnsupported.
	accounts := map[string]func() error{
		"Accounts":      func() error { _, err := hub.Accounts(ctx); return err },
		"LinkAccount":   func() error { _, err := hub.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "github"}); return err },
		"UnlinkAccount": func() error { return hub.UnlinkAccount(ctx, sdk.UnlinkAccountRequest{Provider: "github"}) },
	}
	for name, call := range accounts {
		if err := call(); !errors.Is(err, sdk.ErrPermissionDenied) && !errors.Is(err, sdk.ErrUnsupported) {
			t.Errorf("%s before Login: want an error wrapping sdk.ErrPermissionDenied or sdk.ErrUnsupported, got %v", name, err)
		}
	}
	for name, data := range map[string][]byte{"empty": nil, "random": randomBytes(64), "json": []byte(`{"v":1}`)} {
		if _, err := hub.Resume(ctx, sdk.ResumeRequest{Session: sdk.HubSession{Data: data}}); !errors.Is(err, sdk.ErrInvalidArgument) {
			t.Errorf("Resume with a %s session: want an error wrapping sdk.ErrInvalidArgument, got %v", name, err)
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
