package sdktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func configured(t *testing.T, impl sdk.Plugin, cfg any) *sdktest.Harness {
	t.Helper()
	h := sdktest.New(t, impl)
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h
}

func TestLLMStreamsWordByWord(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		messages  []sdk.Message
		want      []string
		wantUsage [2]int
	}{
		"last user message echoed": {
			messages: []sdk.Message{
				{Role: sdk.RoleSystem, Content: "be brief"},
				{Role: sdk.RoleUser, Content: "first question"},
				{Role: sdk.RoleAssistant, Content: "an answer"},
				{Role: sdk.RoleUser, Content: "hello  big\tworld"},
			},
			want:      []string{"hello ", "big ", "world"},
			wantUsage: [2]int{9, 3},
		},
		"one word":        {messages: []sdk.Message{{Role: sdk.RoleUser, Content: "hi"}}, want: []string{"hi"}, wantUsage: [2]int{1, 1}},
		"no user message": {messages: []sdk.Message{{Role: sdk.RoleSystem, Content: "x"}}, want: nil, wantUsage: [2]int{1, 0}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			llm := configured(t, &echoLLM{}, nil).Client.LLM
			var got []string
			res, err := llm.Generate(context.Background(), sdk.GenerateRequest{Model: "echo", Messages: tc.messages},
				func(d string) error { got = append(got, d); return nil })
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("deltas: want %q, got %q", tc.want, got)
			}
			if res.FinishReason != "stop" || res.Model != "echo" || res.PromptTokens != tc.wantUsage[0] || res.CompletionTokens != tc.wantUsage[1] {
				t.Errorf("result: want stop/echo with usage %v, got %+v", tc.wantUsage, res)
			}
		})
	}
}

func TestLLMRequestCrossesTheWire(t *testing.T) {
	t.Parallel()
	impl := &echoLLM{}
	llm := configured(t, impl, nil).Client.LLM
	temp, topP, maxTokens := 0.25, 0.9, 64
	sent := sdk.GenerateRequest{
		Model: "echo", RequestID: "req-42", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens,
		Stop:     []string{"\n\n", "END"},
		Messages: []sdk.Message{{Role: sdk.RoleSystem, Content: "s"}, {Role: sdk.RoleUser, Content: "u"}, {Role: sdk.RoleAssistant, Content: "a"}},
	}
	if _, err := llm.Generate(context.Background(), sent, func(string) error { return nil }); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	got := impl.lastRequest()
	if got.Model != sent.Model || got.RequestID != sent.RequestID || !slices.Equal(got.Stop, sent.Stop) ||
		!slices.Equal(got.Messages, sent.Messages) {
		t.Errorf("want %+v, got %+v", sent, got)
	}
	if got.Temperature == nil || *got.Temperature != temp || got.TopP == nil || *got.TopP != topP ||
		got.MaxTokens == nil || *got.MaxTokens != maxTokens {
		t.Errorf("sampling: want %v %v %v, got %v %v %v", temp, topP, maxTokens, got.Temperature, got.TopP, got.MaxTokens)
	}

	if _, err := llm.Generate(context.Background(), sdk.GenerateRequest{Messages: sent.Messages[:1]}, func(string) error { return nil }); err != nil {
		t.Fatalf("Generate without options: %v", err)
	}
	if got := impl.lastRequest(); got.Temperature != nil || got.TopP != nil || got.MaxTokens != nil {
		t.Errorf("unset sampling: want nil, got %v %v %v", got.Temperature, got.TopP, got.MaxTokens)
	}
}

func TestLLMErrors(t *testing.T) {
	t.Parallel()
	errStop := errors.New("the user closed the window")
	tests := map[string]struct {
		req  sdk.GenerateRequest
		emit func(string) error
		want error
	}{
		"unknown model": {
			req:  sdk.GenerateRequest{Model: "gpt-99", Messages: []sdk.Message{{Role: sdk.RoleUser, Content: "x"}}},
			want: sdk.ErrNotFound,
		},
		"emit fails": {
			req:  sdk.GenerateRequest{Messages: []sdk.Message{{Role: sdk.RoleUser, Content: "a b c"}}},
			emit: func(string) error { return errStop },
			want: errStop,
		},
		"unknown role": {
			req:  sdk.GenerateRequest{Messages: []sdk.Message{{Role: "narrator", Content: "x"}}},
			want: sdk.ErrInvalidArgument,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			llm := configured(t, &echoLLM{}, nil).Client.LLM
			emit := tc.emit
			if emit == nil {
				emit = func(string) error { return nil }
			}
			if _, err := llm.Generate(context.Background(), tc.req, emit); !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
		})
	}
}

func TestLLMListModels(t *testing.T) {
	t.Parallel()
	models, err := configured(t, &echoLLM{}, nil).Client.LLM.ListModels(context.Background())
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	want := sdk.Model{ID: "echo", DisplayName: "Echo", ContextLength: 4096, Labels: []string{"local", "test"}}
	if len(models) != 1 || models[0].ID != want.ID || models[0].DisplayName != want.DisplayName ||
		models[0].ContextLength != want.ContextLength || !slices.Equal(models[0].Labels, want.Labels) {
		t.Errorf("want [%+v], got %+v", want, models)
	}
}

func TestBackupWire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := configured(t, &memBackup{}, nil).Client.Backup

	before := time.Now().Truncate(time.Millisecond)
	keys := []string{"a/1", "a/2", "a/3", "a/4", "a/5", "b/1"}
	for _, k := range keys {
		if _, err := b.Put(ctx, sdk.PutRequest{Key: k, Body: strings.NewReader("data of " + k)}); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	put, err := b.Put(ctx, sdk.PutRequest{Key: "empty", Body: bytes.NewReader(nil)})
	if empty := put.Object; err != nil || empty.Size != 0 || empty.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Put of an empty object: want size 0 and the empty sha256, got %+v (err %v)", put.Object, err)
	}
	stat, err := b.Stat(ctx, sdk.StatRequest{Key: "a/1"})
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	st := stat.Object
	if st.Modified.Before(before) || st.Modified.After(time.Now()) {
		t.Errorf("Stat: want Modified between %v and now, got %v", before, st.Modified)
	}

	t.Run("paging", func(t *testing.T) {
		var got []string
		var pages int
		req := sdk.ListRequest{Prefix: "a/", PageSize: 2}
		for {
			res, err := b.List(ctx, req)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			pages++
			for _, o := range res.Objects {
				got = append(got, o.Key)
			}
			if res.NextPageToken == "" {
				break
			}
			req.PageToken = res.NextPageToken
		}
		if want := keys[:5]; !slices.Equal(got, want) || pages != 3 {
			t.Errorf("want %v in 3 pages, got %v in %d", want, got, pages)
		}
	})

	errTests := map[string]struct {
		call func() error
		want error
	}{
		"get missing": {call: func() error {
			_, err := b.Get(ctx, sdk.GetRequest{Key: "nope"})
			return err
		}, want: sdk.ErrNotFound},
		"stat missing": {call: func() error {
			_, err := b.Stat(ctx, sdk.StatRequest{Key: "nope"})
			return err
		}, want: sdk.ErrNotFound},
		"put invalid key": {call: func() error {
			_, err := b.Put(ctx, sdk.PutRequest{Key: "/abs", Body: strings.NewReader("x")})
			return err
		}, want: sdk.ErrInvalidArgument},
		"put with a failing reader": {call: func() error {
			_, err := b.Put(ctx, sdk.PutRequest{Key: "c/broken", Body: io.MultiReader(strings.NewReader("part"), errReader{})})
			return err
		}, want: errBroken},
	}
	for name, tc := range errTests {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
		})
	}
}

var errBroken = errors.New("broken reader")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestTransportWire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := configured(t, &tcpTransport{}, nil).Client.Transport

	t.Run("several addresses", func(t *testing.T) {
		ln, err := tr.Listen(ctx, sdk.ListenRequest{Addresses: []string{"127.0.0.1:0", "127.0.0.1:0"}})
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		defer ln.Close()
		if len(ln.Addresses()) != 2 || len(ln.URIs()) != 2 || !strings.HasPrefix(ln.URIs()[1], "dpc://127.0.0.1:") {
			t.Fatalf("want two addresses and dpc:// URIs, got %v %v", ln.Addresses(), ln.URIs())
		}
		for _, uri := range ln.URIs() {
			c, err := tr.Dial(ctx, sdk.DialRequest{URI: uri, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatalf("Dial %s: %v", uri, err)
			}
			a, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if c.RemoteAddress() != a.LocalAddress() || c.LocalAddress() != a.RemoteAddress() {
				t.Errorf("endpoints: want mirrored, got dialer %s→%s acceptor %s→%s",
					c.LocalAddress(), c.RemoteAddress(), a.LocalAddress(), a.RemoteAddress())
			}
			_ = c.Close()
			_ = a.Close()
		}
		if err := ln.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := ln.Accept(); err == nil {
			t.Errorf("Accept after Close: want an error, got nil")
		}
	})

	dialErrs := map[string]struct {
		uri  string
		want error
	}{
		"not a dpc URI": {uri: "https://127.0.0.1:1", want: sdk.ErrInvalidArgument},
		"no host":       {uri: "dpc://", want: sdk.ErrInvalidArgument},
		"nobody there":  {uri: closedPortURI(t), want: sdk.ErrUnavailable},
	}
	for name, tc := range dialErrs {
		t.Run(name, func(t *testing.T) {
			if _, err := tr.Dial(ctx, sdk.DialRequest{URI: tc.uri, Timeout: 2 * time.Second}); !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
		})
	}
}

func TestTransportBeforeConfigure(t *testing.T) {
	t.Parallel()
	tr := sdktest.New(t, &tcpTransport{}).Client.Transport
	if _, err := tr.Listen(context.Background(), sdk.ListenRequest{}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v", err)
	}
}

// closedPortURI returns a dpc:// URI on loopback where nothing listens.
func closedPortURI(t *testing.T) string {
	t.Helper()
	tr := &tcpTransport{}
	if err := tr.Configure(context.Background(), sdk.ConfigureRequest{Config: &tcpConfig{}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	ln, err := tr.Listen(context.Background(), sdk.ListenRequest{Addresses: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	uri := ln.URIs()[0]
	_ = ln.Close()
	return fmt.Sprint(uri)
}
