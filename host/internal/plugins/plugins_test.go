package plugins

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

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
		"pre-check before exec":          {Launch, "dpc.lock.hcl pins"},
		"go-plugin SecureConfig at exec": {launchPinned, "changed after it was checked"},
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
	sum, info, err := Fingerprint(context.Background(), fixtureBin, hclog.NewNullLogger())
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
