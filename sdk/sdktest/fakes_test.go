package sdktest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// This file holds small plugins of every kind, written the way a plugin
// author would, for the tests in this package.

// Interface guards.
var (
	_ sdk.Backup    = (*memBackup)(nil)
	_ sdk.LLM       = (*echoLLM)(nil)
	_ sdk.Transport = (*tcpTransport)(nil)
	_ sdk.Hub       = (*mockHub)(nil)
	_ sdk.Pinger    = (*pingingHub)(nil)

	_ sdk.SignalHandler = (*signalHub)(nil)
	_ sdk.Configurable  = (*configurableHub)(nil)
	_ sdk.Configurable  = (*tcpTransport)(nil)
)

// memBackup is an in-memory Backup.
type memBackup struct {
	mu      sync.Mutex
	objects map[string]memObject
}

type memObject struct {
	data []byte
	info sdk.ObjectInfo
}

func (b *memBackup) Info() sdk.Info {
	return sdk.Info{Name: "backup-mem", Version: "0.1.0", Description: "in-memory backup for tests"}
}

func (b *memBackup) Configure(context.Context, sdk.ConfigureRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objects == nil {
		b.objects = map[string]memObject{}
	}
	return nil
}

func (b *memBackup) Shutdown(context.Context) error { return nil }

func (b *memBackup) Put(ctx context.Context, req sdk.PutRequest) (sdk.PutResult, error) {
	key := req.Key
	if key == "" || strings.HasPrefix(key, "/") {
		return sdk.PutResult{}, fmt.Errorf("%w: key %q", sdk.ErrInvalidArgument, key)
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return sdk.PutResult{}, fmt.Errorf("reading %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return sdk.PutResult{}, err
	}
	sum := sha256.Sum256(data)
	info := sdk.ObjectInfo{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Modified: time.Now()}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objects == nil {
		return sdk.PutResult{}, sdk.ErrNotConfigured
	}
	b.objects[key] = memObject{data: data, info: info}
	return sdk.PutResult{Object: info}, nil
}

func (b *memBackup) Get(_ context.Context, req sdk.GetRequest) (sdk.GetResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[req.Key]
	if !ok {
		return sdk.GetResult{}, fmt.Errorf("%w: %q", sdk.ErrNotFound, req.Key)
	}
	return sdk.GetResult{Object: o.info, Body: io.NopCloser(bytes.NewReader(o.data))}, nil
}

func (b *memBackup) Stat(_ context.Context, req sdk.StatRequest) (sdk.StatResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[req.Key]
	if !ok {
		return sdk.StatResult{}, fmt.Errorf("%w: %q", sdk.ErrNotFound, req.Key)
	}
	return sdk.StatResult{Object: o.info}, nil
}

func (b *memBackup) List(_ context.Context, req sdk.ListRequest) (sdk.ListResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, req.Prefix) && k > req.PageToken {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	size := req.PageSize
	if size <= 0 {
		size = 1000
	}
	var res sdk.ListResult
	for i, k := range keys {
		if i == size {
			res.NextPageToken = keys[i-1]
			break
		}
		res.Objects = append(res.Objects, b.objects[k].info)
	}
	return res, nil
}

func (b *memBackup) Delete(_ context.Context, req sdk.DeleteRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, req.Key)
	return nil
}

// echoLLM streams the last user message back word by word. It takes no
// configuration and records the last request it saw.
type echoLLM struct {
	mu   sync.Mutex
	last sdk.GenerateRequest
}

func (l *echoLLM) Info() sdk.Info {
	return sdk.Info{Name: "llm-echo-test", Version: "1.0.0-test"}
}

func (l *echoLLM) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (l *echoLLM) Shutdown(context.Context) error                        { return nil }

func (l *echoLLM) ListModels(context.Context) ([]sdk.Model, error) {
	return []sdk.Model{{ID: "echo", DisplayName: "Echo", ContextLength: 4096, Labels: []string{"local", "test"}}}, nil
}

func (l *echoLLM) lastRequest() sdk.GenerateRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func (l *echoLLM) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	l.mu.Lock()
	l.last = req
	l.mu.Unlock()
	if req.Model != "" && req.Model != "echo" {
		return sdk.GenerateResult{}, fmt.Errorf("%w: model %q", sdk.ErrNotFound, req.Model)
	}
	var prompt, last string
	for _, m := range req.Messages {
		prompt += m.Content + " "
		if m.Role == sdk.RoleUser {
			last = m.Content
		}
	}
	words := strings.Fields(last)
	for i, w := range words {
		if err := ctx.Err(); err != nil {
			return sdk.GenerateResult{}, err
		}
		if i < len(words)-1 {
			w += " "
		}
		if err := emit(w); err != nil {
			return sdk.GenerateResult{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return sdk.GenerateResult{}, err
	}
	return sdk.GenerateResult{FinishReason: "stop", Model: "echo",
		PromptTokens: len(strings.Fields(prompt)), CompletionTokens: len(words)}, nil
}

// tcpTransport is a plain TCP transport, configurable with default listen
// addresses.
type tcpTransport struct {
	cfg sdk.Config[tcpConfig]
}

type tcpConfig struct {
	Listen        []string `hcl:"listen,optional" help:"Addresses to listen on when the host names none."`
	DialTimeoutMS int      `hcl:"dial_timeout_ms,optional" help:"Dial timeout in milliseconds."`
}

func (t *tcpTransport) Info() sdk.Info {
	return sdk.Info{Name: "transport-tcp-test", Version: "0.0.1"}
}

func (t *tcpTransport) DefaultConfig() any {
	return &tcpConfig{Listen: []string{"127.0.0.1:0"}, DialTimeoutMS: 5000}
}

func (t *tcpTransport) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	_, _, err := t.cfg.Set(req)
	return err
}

func (t *tcpTransport) Shutdown(context.Context) error { return nil }

func (t *tcpTransport) config() (*tcpConfig, error) {
	cfg, _, err := t.cfg.Get()
	return cfg, err
}

func (t *tcpTransport) Listen(ctx context.Context, req sdk.ListenRequest) (sdk.Listener, error) {
	cfg, err := t.config()
	if err != nil {
		return nil, err
	}
	addrs := req.Addresses
	if len(addrs) == 0 {
		addrs = cfg.Listen
	}
	l := &tcpListener{conns: make(chan sdk.Conn), done: make(chan struct{})}
	var lc net.ListenConfig
	for _, a := range addrs {
		ln, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("listen on %s: %w", a, err)
		}
		l.lns = append(l.lns, ln)
	}
	for _, ln := range l.lns {
		go l.acceptLoop(ln)
	}
	return l, nil
}

func (t *tcpTransport) Dial(ctx context.Context, req sdk.DialRequest) (sdk.Conn, error) {
	cfg, err := t.config()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(req.URI)
	if err != nil || u.Scheme != "dpc" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: want dpc://host:port, got %q", sdk.ErrInvalidArgument, req.URI)
	}
	port := u.Port()
	if port == "" {
		port = "8888"
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = time.Duration(cfg.DialTimeoutMS) * time.Millisecond
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sdk.ErrUnavailable, err)
	}
	return tcpConn{c.(*net.TCPConn)}, nil
}

type tcpListener struct {
	lns       []net.Listener
	conns     chan sdk.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *tcpListener) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		select {
		case l.conns <- tcpConn{c.(*net.TCPConn)}:
		case <-l.done:
			_ = c.Close()
			return
		}
	}
}

func (l *tcpListener) Accept() (sdk.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tcpListener) Addresses() []string {
	var out []string
	for _, ln := range l.lns {
		out = append(out, ln.Addr().String())
	}
	return out
}

func (l *tcpListener) URIs() []string {
	var out []string
	for _, a := range l.Addresses() {
		out = append(out, "dpc://"+a)
	}
	return out
}

func (l *tcpListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		for _, ln := range l.lns {
			_ = ln.Close()
		}
	})
	return nil
}

type tcpConn struct{ *net.TCPConn }

func (c tcpConn) LocalAddress() string  { return c.LocalAddr().String() }
func (c tcpConn) RemoteAddress() string { return c.RemoteAddr().String() }

// mockHub is a Hub made of function fields (Nomad's MockPlugin style): a test
// sets the ones it needs; the rest answer sdk.ErrUnsupported.
type mockHub struct {
	ConfigureF       func(ctx context.Context, req sdk.ConfigureRequest) error
	ShutdownF        func(ctx context.Context) error
	LoginF           func(ctx context.Context) (sdk.LoginResult, error)
	ResumeF          func(ctx context.Context, req sdk.ResumeRequest) (sdk.LoginResult, error)
	LogoutF          func(ctx context.Context) error
	PublishPresenceF func(ctx context.Context, req sdk.PublishPresenceRequest) error
	LookupPeerF      func(ctx context.Context, req sdk.LookupPeerRequest) (sdk.LookupPeerResult, error)
	SearchPeersF     func(ctx context.Context, req sdk.SearchPeersRequest) (sdk.SearchPeersResult, error)
	SendSignalF      func(ctx context.Context, req sdk.SendSignalRequest) error
	SignalsF         func(ctx context.Context, fn func(sdk.IncomingSignal) error) error
	IceServersF      func(ctx context.Context) ([]sdk.IceServer, error)
	MailboxPutF      func(ctx context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error)
	MailboxFetchF    func(ctx context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error)
	MailboxAckF      func(ctx context.Context, req sdk.MailboxAckRequest) error
	AccountsF        func(ctx context.Context) (sdk.AccountsResult, error)
	LinkAccountF     func(ctx context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error)
	UnlinkAccountF   func(ctx context.Context, req sdk.UnlinkAccountRequest) error
}

func (h *mockHub) Info() sdk.Info {
	return sdk.Info{Name: "hub-mock", Version: "0.1.0", Description: "hub made of function fields"}
}

func (h *mockHub) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	if h.ConfigureF == nil {
		return nil
	}
	return h.ConfigureF(ctx, req)
}

func (h *mockHub) Shutdown(ctx context.Context) error {
	if h.ShutdownF == nil {
		return nil
	}
	return h.ShutdownF(ctx)
}

func unsupported(method string) error {
	return fmt.Errorf("%w: mockHub.%s", sdk.ErrUnsupported, method)
}

func (h *mockHub) Login(ctx context.Context) (sdk.LoginResult, error) {
	if h.LoginF == nil {
		return sdk.LoginResult{}, unsupported("Login")
	}
	return h.LoginF(ctx)
}

func (h *mockHub) Resume(ctx context.Context, req sdk.ResumeRequest) (sdk.LoginResult, error) {
	if h.ResumeF == nil {
		return sdk.LoginResult{}, unsupported("Resume")
	}
	return h.ResumeF(ctx, req)
}

func (h *mockHub) Logout(ctx context.Context) error {
	if h.LogoutF == nil {
		return unsupported("Logout")
	}
	return h.LogoutF(ctx)
}

func (h *mockHub) PublishPresence(ctx context.Context, req sdk.PublishPresenceRequest) error {
	if h.PublishPresenceF == nil {
		return unsupported("PublishPresence")
	}
	return h.PublishPresenceF(ctx, req)
}

func (h *mockHub) LookupPeer(ctx context.Context, req sdk.LookupPeerRequest) (sdk.LookupPeerResult, error) {
	if h.LookupPeerF == nil {
		return sdk.LookupPeerResult{}, unsupported("LookupPeer")
	}
	return h.LookupPeerF(ctx, req)
}

func (h *mockHub) SearchPeers(ctx context.Context, req sdk.SearchPeersRequest) (sdk.SearchPeersResult, error) {
	if h.SearchPeersF == nil {
		return sdk.SearchPeersResult{}, unsupported("SearchPeers")
	}
	return h.SearchPeersF(ctx, req)
}

func (h *mockHub) SendSignal(ctx context.Context, req sdk.SendSignalRequest) error {
	if h.SendSignalF == nil {
		return unsupported("SendSignal")
	}
	return h.SendSignalF(ctx, req)
}

func (h *mockHub) Signals(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
	if h.SignalsF == nil {
		return unsupported("Signals")
	}
	return h.SignalsF(ctx, fn)
}

func (h *mockHub) IceServers(ctx context.Context) ([]sdk.IceServer, error) {
	if h.IceServersF == nil {
		return nil, unsupported("IceServers")
	}
	return h.IceServersF(ctx)
}

func (h *mockHub) MailboxPut(ctx context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
	if h.MailboxPutF == nil {
		return sdk.MailboxPutResult{}, unsupported("MailboxPut")
	}
	return h.MailboxPutF(ctx, req)
}

func (h *mockHub) MailboxFetch(ctx context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
	if h.MailboxFetchF == nil {
		return sdk.MailboxFetchResult{}, unsupported("MailboxFetch")
	}
	return h.MailboxFetchF(ctx, req)
}

func (h *mockHub) MailboxAck(ctx context.Context, req sdk.MailboxAckRequest) error {
	if h.MailboxAckF == nil {
		return unsupported("MailboxAck")
	}
	return h.MailboxAckF(ctx, req)
}

func (h *mockHub) Accounts(ctx context.Context) (sdk.AccountsResult, error) {
	if h.AccountsF == nil {
		return sdk.AccountsResult{}, unsupported("Accounts")
	}
	return h.AccountsF(ctx)
}

func (h *mockHub) LinkAccount(ctx context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
	if h.LinkAccountF == nil {
		return sdk.LinkAccountResult{}, unsupported("LinkAccount")
	}
	return h.LinkAccountF(ctx, req)
}

func (h *mockHub) UnlinkAccount(ctx context.Context, req sdk.UnlinkAccountRequest) error {
	if h.UnlinkAccountF == nil {
		return unsupported("UnlinkAccount")
	}
	return h.UnlinkAccountF(ctx, req)
}

// pingingHub adds the optional Pinger to mockHub.
type pingingHub struct {
	*mockHub
	PingF func(ctx context.Context) error
}

func (h *pingingHub) Ping(ctx context.Context) error { return h.PingF(ctx) }

// signalHub adds the optional SignalHandler to mockHub.
type signalHub struct {
	*mockHub
	HandleSignalF func(ctx context.Context, s sdk.Signal) error
}

func (h *signalHub) HandleSignal(ctx context.Context, s sdk.Signal) error {
	return h.HandleSignalF(ctx, s)
}

// configurableHub adds a config struct to mockHub.
type configurableHub struct {
	*mockHub
}

// hubConfig is a config whose Validate reports attribute paths.
type hubConfig struct {
	Dir    string   `hcl:"dir" help:"Absolute directory."`
	Limit  int      `hcl:"limit,optional"`
	Mirror []mirror `hcl:"mirror,block"`
}

type mirror struct {
	URL string `hcl:"url"`
}

func (c *hubConfig) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Dir, "/") {
		errs = append(errs, sdk.AttributeError([]string{"dir"}, "must be an absolute path, got %q", c.Dir))
	}
	if c.Limit < 0 {
		errs = append(errs, sdk.AttributeError([]string{"limit"}, "must not be negative"))
	}
	for i, m := range c.Mirror {
		if !strings.HasPrefix(m.URL, "https://") {
			errs = append(errs, sdk.AttributeError([]string{"mirror", fmt.Sprint(i), "url"}, "must be https"))
		}
	}
	return errors.Join(errs...)
}

func (h *configurableHub) DefaultConfig() any { return &hubConfig{Limit: 10} }
