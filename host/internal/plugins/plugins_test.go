package plugins

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/sdk"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RestartPolicy{BackoffBase: 250 * time.Millisecond, BackoffMax: 2 * time.Second}
	tests := map[string]struct {
		restart int
		want    time.Duration
	}{
		"first restart waits the base": {1, 250 * time.Millisecond},
		"second doubles":               {2, 500 * time.Millisecond},
		"fourth doubles again":         {4, 2 * time.Second},
		"capped at the maximum":        {9, 2 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := p.backoff(tc.restart); got != tc.want {
				t.Errorf("backoff(%d): want %s, got %s", tc.restart, tc.want, got)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	first, second := t.TempDir(), t.TempDir()
	write := func(dir, name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/true\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write(first, "dpc-plugin-alpha", 0o755)
	write(second, "dpc-plugin-alpha", 0o755) // shadowed by first
	b := write(second, "dpc-plugin-beta", 0o755)
	write(first, "dpc-plugin-notexec", 0o644)
	write(first, "README.md", 0o755)
	write(first, "dpc-plugin-", 0o755)
	if err := os.Mkdir(filepath.Join(first, "dpc-plugin-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := Discover([]string{first, filepath.Join(first, "missing"), second}, hclog.NewNullLogger())
	want := []Binary{{Name: "alpha", Path: a}, {Name: "beta", Path: b}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Discover: want %+v, got %+v", want, got)
	}
}

func TestLaunchRefusesAChangedBinary(t *testing.T) {
	t.Parallel()
	other := sha256.Sum256([]byte("some other binary"))
	tests := map[string]struct {
		launch  func(context.Context, LaunchOptions) (*Instance, error)
		message string
	}{
		"pre-check before exec": {Launch, "dpc.lock.hcl pins"},
		"go-plugin SecureConfig at exec": {func(ctx context.Context, o LaunchOptions) (*Instance, error) {
			return launchPinned(ctx, o, o.Binary.Path)
		}, "changed after it was checked"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inst, err := tc.launch(context.Background(), LaunchOptions{
				Binary: fixtureBin, SHA256: hex.EncodeToString(other[:]), Logger: hclog.NewNullLogger(),
			})
			if err == nil {
				inst.Stop(context.Background())
				t.Fatal("want a refusal, got a running plugin")
			}
			if !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), "plugin fixture") ||
				!strings.Contains(err.Error(), tc.message) {
				t.Errorf("want ErrChecksumMismatch naming the plugin and %q, got %v", tc.message, err)
			}
		})
	}
}

func TestLaunchFingerprintsAndStops(t *testing.T) {
	t.Parallel()
	sum, info, err := Fingerprint(context.Background(), fixtureBin, t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "fixture" || info.Kind != sdk.KindBackup || info.Version != "1.0.0" || len(sum) != 64 {
		t.Errorf("Fingerprint: want fixture backup 1.0.0 with a sha256, got %+v %q", info, sum)
	}
	inst, err := Launch(context.Background(), LaunchOptions{Binary: fixtureBin, SHA256: sum, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if inst.APIVersion != sdk.APIVersion || inst.PID == 0 {
		t.Errorf("want API version %d and a pid, got %d and %d", sdk.APIVersion, inst.APIVersion, inst.PID)
	}
	inst.Stop(context.Background())
	if !inst.Exited() {
		t.Errorf("Stop: want the process gone")
	}
}

// TestSwappedBinaryAfterVerificationNeverRuns swaps the plugin binary for an
// impostor after the last check of its bytes, right before exec: the bytes
// that were verified must be what runs. It sets a package hook, so it does
// not run in parallel (parallel tests start after it ends).
func TestSwappedBinaryAfterVerificationNeverRuns(t *testing.T) {
	want, err := FileSHA256(fixtureBin.Path)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		launch func(ctx context.Context, b Binary, execDir string) (*Instance, error)
	}{
		"dpc run launching a pinned plugin": {launch: func(ctx context.Context, b Binary, execDir string) (*Instance, error) {
			return Launch(ctx, LaunchOptions{Binary: b, SHA256: want, Logger: hclog.NewNullLogger(), ExecDir: execDir})
		}},
		"dpc plugin lock fingerprinting a plugin": {launch: func(ctx context.Context, b Binary, execDir string) (*Instance, error) {
			path, sum, cleanup, err := verifiedCopy(b, execDir)
			if err != nil {
				return nil, err
			}
			defer cleanup()
			if sum != want {
				return nil, fmt.Errorf("fingerprint: want %s, got %s", want, sum)
			}
			return launchPinned(ctx, LaunchOptions{Binary: b, SHA256: sum, Logger: hclog.NewNullLogger()}, path)
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			b := Binary{Name: "fixture", Path: filepath.Join(dir, BinaryPrefix+"fixture")}
			src, err := os.ReadFile(fixtureBin.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(b.Path, src, 0o755); err != nil {
				t.Fatal(err)
			}
			marker := filepath.Join(dir, "impostor-ran")
			impostor := filepath.Join(dir, "impostor")
			if err := os.WriteFile(impostor, []byte("#!/bin/sh\necho ran > "+marker+"\nexit 1\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			swapped := false
			testHookBeforeExec = func(got Binary) {
				if got.Path == b.Path && !swapped {
					swapped = true
					if err := os.Rename(impostor, b.Path); err != nil {
						t.Errorf("swapping the binary: %v", err)
					}
				}
			}
			t.Cleanup(func() { testHookBeforeExec = nil })

			inst, err := tc.launch(context.Background(), b, filepath.Join(dir, "exec"))
			if !swapped {
				t.Fatal("the hook never ran: the test did not swap the binary")
			}
			if _, serr := os.Stat(marker); serr == nil {
				t.Fatalf("the impostor ran (launch error: %v)", err)
			}
			if err != nil {
				t.Fatalf("want the verified binary running, got %v", err)
			}
			defer inst.Stop(context.Background())
			ran, err := FileSHA256(fmt.Sprintf("/proc/%d/exe", inst.PID))
			if err != nil {
				t.Fatal(err)
			}
			if ran != want || inst.Client.Info.Name != "fixture" {
				t.Errorf("want the pinned fixture (%s) running, got %s reporting %q", want, ran, inst.Client.Info.Name)
			}
		})
	}
}

func TestVerifiedCopyRefusesAnExecDirOthersMayWrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "exec")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Launch(context.Background(), LaunchOptions{Binary: fixtureBin, SHA256: strings.Repeat("0", 64), Logger: hclog.NewNullLogger(), ExecDir: dir})
	if !errors.Is(err, home.ErrNotPrivate) {
		t.Errorf("want home.ErrNotPrivate, got %v", err)
	}
}

func TestRemoveStaleCopies(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := map[string]struct {
		name string
		kept bool
	}{
		"a copy of a dpc that died":      {name: fmt.Sprintf("run-%d-123", dead.Process.Pid)},
		"a copy of this running process": {name: fmt.Sprintf("run-%d-456", os.Getpid()), kept: true},
		"a copy of another live process": {name: fmt.Sprintf("run-%d-789", os.Getppid()), kept: true},
		"something that is not a copy":   {name: "notes", kept: true},
	}
	for _, tc := range tests {
		if err := os.MkdirAll(filepath.Join(dir, tc.name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	RemoveStaleCopies(dir, hclog.NewNullLogger())
	for name, tc := range tests {
		if _, err := os.Stat(filepath.Join(dir, tc.name)); (err == nil) != tc.kept {
			t.Errorf("%s: want kept %v, got stat error %v", name, tc.kept, err)
		}
	}
}

func TestCheckInfo(t *testing.T) {
	t.Parallel()
	bin := Binary{Name: "alpha", Path: "/x/dpc-plugin-alpha"}
	tests := map[string]struct {
		info    sdk.Info
		wantErr bool
	}{
		"matching name and version": {sdk.Info{Name: "alpha", APIVersions: []int{1}}, false},
		"name differs from file":    {sdk.Info{Name: "beta", APIVersions: []int{1}}, true},
		"no shared API version":     {sdk.Info{Name: "alpha", APIVersions: []int{2}}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkInfo(bin, tc.info, 1)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrIncompatible)) {
				t.Errorf("checkInfo: want error=%v (ErrIncompatible), got %v", tc.wantErr, err)
			}
		})
	}
}

// TestHostServiceHubSessions: only a hub plugin may hand over a hub
// session, it is kept under the plugin's own id, and a host without a
// keeper says so instead of pretending to have stored it.
func TestHostServiceHubSessions(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		kind    sdk.Kind
		keeper  bool
		want    error
		savedAs string
	}{
		"a transport may not save a hub session":           {kind: sdk.KindTransport, keeper: true, want: sdk.ErrPermissionDenied},
		"an llm plugin may not save a hub session":         {kind: sdk.KindLLM, keeper: true, want: sdk.ErrPermissionDenied},
		"a hub plugin is told it is not kept by no keeper": {kind: sdk.KindHub, want: sdk.ErrUnsupported},
		"a hub plugin's session is kept under its own id":  {kind: sdk.KindHub, keeper: true, savedAs: "hub/x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := &fakeKeeper{}
			o := ManagerOptions{}
			if tc.keeper {
				o.HubSessions = k
			}
			h := &hostService{m: NewManager(o), self: string(tc.kind) + "/x", kind: tc.kind, log: hclog.NewNullLogger()}
			err := h.SaveHubSession(context.Background(), sdk.HubSession{Data: []byte("secret")})
			if !errors.Is(err, tc.want) {
				t.Errorf("want %v, got %v", tc.want, err)
			}
			if k.plugin != tc.savedAs {
				t.Errorf("saved as %q, want %q", k.plugin, tc.savedAs)
			}
		})
	}
}

// fakeKeeper records the last session saved.
type fakeKeeper struct{ plugin string }

func (k *fakeKeeper) SaveHubSession(plugin string, _ sdk.HubSession) error {
	k.plugin = plugin
	return nil
}

// edSigner signs like the identity package, for the host service tests.
type edSigner struct{ key ed25519.PrivateKey }

func (s edSigner) SignDomain(purpose string, data []byte) ([]byte, string, []byte, error) {
	msg := append([]byte("dpc-plugin-signature/v1\x00"+purpose+"\x00"), data...)
	return ed25519.Sign(s.key, msg), "ed25519", msg, nil
}

func TestHostServiceSigningPurposes(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	m := NewManager(ManagerOptions{Signer: edSigner{key}})
	tests := map[string]struct {
		kind    sdk.Kind
		purpose string
		allowed bool
	}{
		"hub connector may answer a hub login": {sdk.KindHub, sdk.PurposeHubLogin, true},
		"hub connector may not sign anything":  {sdk.KindHub, "tls-handshake", false},
		"a transport may not sign at all":      {sdk.KindTransport, sdk.PurposeHubLogin, false},
		"a backup plugin may not sign at all":  {sdk.KindBackup, sdk.PurposeHubLogin, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := &hostService{m: m, self: string(tc.kind) + "/x", kind: tc.kind, log: hclog.NewNullLogger()}
			sig, err := h.Sign(context.Background(), tc.purpose, []byte("challenge"))
			if !tc.allowed {
				if !errors.Is(err, sdk.ErrPermissionDenied) {
					t.Errorf("want sdk.ErrPermissionDenied, got %v", err)
				}
				return
			}
			if err != nil || !ed25519.Verify(key.Public().(ed25519.PublicKey), sig.SignedMessage, sig.Signature) ||
				!strings.HasPrefix(string(sig.SignedMessage), "dpc-plugin-signature/v1\x00"+tc.purpose+"\x00") {
				t.Errorf("want a domain-separated signature, got %+v (err %v)", sig, err)
			}
		})
	}
}

// fakeRelay records the signals a transport sends through the hub.
type fakeRelay struct{ sent []sdk.SendSignalRequest }

func (r *fakeRelay) SendSignal(_ context.Context, req sdk.SendSignalRequest) error {
	r.sent = append(r.sent, req)
	return nil
}

func (r *fakeRelay) IceServers(context.Context) ([]sdk.IceServer, error) {
	return []sdk.IceServer{{URLs: []string{"turn:127.0.0.1:3478"}}}, nil
}

// TestHostServiceHubRelay: only a transport may send signals through the
// node's hub or get its ICE servers; the hub is told the target node and
// never who the plugin claims to be; a host without a hub says so.
func TestHostServiceHubRelay(t *testing.T) {
	t.Parallel()
	const target = "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		kind sdk.Kind
		hub  bool
		want error
	}{
		"a transport signals through the hub":    {kind: sdk.KindTransport, hub: true},
		"an llm plugin may not":                  {kind: sdk.KindLLM, hub: true, want: sdk.ErrPermissionDenied},
		"a hub plugin may not loop back into it": {kind: sdk.KindHub, hub: true, want: sdk.ErrPermissionDenied},
		"a host without a hub says it has none":  {kind: sdk.KindTransport, want: sdk.ErrUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &fakeRelay{}
			o := ManagerOptions{}
			if tc.hub {
				o.Hub = r
			}
			h := &hostService{m: NewManager(o), self: string(tc.kind) + "/x", kind: tc.kind, log: hclog.NewNullLogger()}
			err := h.RouteSignal(context.Background(), sdk.Signal{To: sdk.SignalViaHub, From: "hub/forged", PeerNodeID: target, Type: "webrtc-offer", Payload: []byte(`{}`)})
			if !errors.Is(err, tc.want) {
				t.Errorf("RouteSignal via the hub: want %v, got %v", tc.want, err)
			}
			_, err = h.IceServers(context.Background())
			if !errors.Is(err, tc.want) {
				t.Errorf("IceServers: want %v, got %v", tc.want, err)
			}
			wantSent := 0
			if tc.want == nil {
				wantSent = 1
			}
			if len(r.sent) != wantSent || (wantSent == 1 && (r.sent[0].TargetNodeID != target || r.sent[0].Type != "webrtc-offer")) {
				t.Errorf("the hub was asked to send %+v, want %d signal(s) to %s", r.sent, wantSent, target)
			}
		})
	}
}
