package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// envAllowList names the host environment variables a plugin may see. The
// rest (tokens, keys, DPC_* settings) stays in the host.
var envAllowList = []string{
	"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

// pluginEnv is the environment a plugin process starts with.
func pluginEnv(logLevel hclog.Level) []string {
	var env []string
	for _, k := range envAllowList {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, "DPC_PLUGIN_LOG_LEVEL="+logLevel.String())
}

// startTimeout bounds exec + handshake of a plugin.
const startTimeout = 30 * time.Second

// maxMessageSize matches the limit plugins built with the SDK accept.
const maxMessageSize = 16 << 20

// Flow-control windows of the plugin connection, matching the SDK's server.
const (
	streamWindow = 4 << 20
	connWindow   = 16 << 20
)

// Instance is one running plugin process.
type Instance struct {
	Binary     Binary
	SHA256     string
	Client     *pluginhost.Client
	APIVersion int
	PID        int

	proc *plugin.Client
}

// Exited reports whether the process has exited.
func (i *Instance) Exited() bool { return i.proc.Exited() }

// Stop asks the plugin to shut down, then ends the process (go-plugin waits
// briefly for a graceful exit before killing it).
func (i *Instance) Stop(ctx context.Context) {
	if !i.proc.Exited() {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_ = i.Client.Shutdown(sctx)
		cancel()
	}
	i.proc.Kill()
}

// LaunchOptions says what to start and how.
type LaunchOptions struct {
	Binary Binary
	// SHA256 is the pinned digest (hex); go-plugin checks it again at exec.
	SHA256   string
	Logger   hclog.Logger
	LogLevel hclog.Level
	// ExecDir is the private directory (made 0700) that verified copies of
	// binaries run from; empty: the system's temporary directory.
	ExecDir string
}

// Launch verifies, starts and fingerprints a plugin. It runs a private copy
// of the binary whose bytes were hashed, so swapping the file at
// Binary.Path after the check changes nothing. The caller owns the returned
// Instance and must Stop it.
func Launch(ctx context.Context, o LaunchOptions) (*Instance, error) {
	path, got, cleanup, err := verifiedCopy(o.Binary, o.ExecDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if got != o.SHA256 {
		return nil, mismatchError(o.Binary, o.SHA256, got)
	}
	return launchPinned(ctx, o, path)
}

// verifiedCopy copies b into a new directory under execDir that only this
// user can write, hashing the bytes as they are written, and returns the
// copy's path and sha256. cleanup removes the copy; a process started from
// it keeps running.
func verifiedCopy(b Binary, execDir string) (path, sum string, cleanup func(), err error) {
	src, err := os.Open(b.Path)
	if err != nil {
		return "", "", nil, fmt.Errorf("plugin %s: %w: %v", b.Name, ErrNotFound, err)
	}
	defer src.Close()
	if execDir != "" {
		if err := os.MkdirAll(execDir, 0o700); err != nil {
			return "", "", nil, fmt.Errorf("plugin %s: %w", b.Name, err)
		}
		if err := home.CheckPrivate(execDir); err != nil {
			return "", "", nil, fmt.Errorf("plugin %s: the directory plugins run from: %w", b.Name, err)
		}
	}
	// The pid in the name lets RemoveStaleCopies tell a dead run's copy.
	dir, err := os.MkdirTemp(execDir, fmt.Sprintf("run-%d-", os.Getpid()))
	if err != nil {
		return "", "", nil, fmt.Errorf("plugin %s: %w", b.Name, err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, filepath.Base(b.Path))
	h := sha256.New()
	// No child may inherit the write descriptor between fork and exec:
	// exec of the copy fails with ETXTBSY while anyone holds it open.
	syscall.ForkLock.RLock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err == nil {
		_, err = io.Copy(io.MultiWriter(f, h), src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		cleanup()
		return "", "", nil, fmt.Errorf("plugin %s: copying %s to run it: %w", b.Name, b.Path, err)
	}
	return path, hex.EncodeToString(h.Sum(nil)), cleanup, nil
}

// RemoveStaleCopies removes the copies in execDir left by dpc processes
// that died while launching a plugin (copies are otherwise removed once the
// plugin runs).
func RemoveStaleCopies(execDir string, log hclog.Logger) {
	entries, err := os.ReadDir(execDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		var pid int
		var rest string
		if _, err := fmt.Sscanf(e.Name(), "run-%d-%s", &pid, &rest); err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(execDir, e.Name())); err != nil {
			log.Warn("removing a stale plugin copy", "path", filepath.Join(execDir, e.Name()), "error", err)
		}
	}
}

// testHookBeforeExec, if set, runs after the last check of a plugin's
// bytes, right before exec; tests swap the binary there.
var testHookBeforeExec func(Binary)

// hookHash calls fn once the digest is taken: go-plugin's SecureConfig
// hashes the file, then execs it.
type hookHash struct {
	hash.Hash
	fn func()
}

func (h hookHash) Sum(b []byte) []byte {
	out := h.Hash.Sum(b)
	h.fn()
	return out
}

// mismatchError explains a checksum mismatch and what to do about it.
func mismatchError(b Binary, want, got string) error {
	return fmt.Errorf("plugin %s: %w: %s has sha256 %s but dpc.lock.hcl pins %s; refusing to run it. "+
		"If you replaced it on purpose, review the new binary and run `dpc plugin lock`", b.Name, ErrChecksumMismatch, b.Path, got, want)
}

// launchPinned starts the binary at path (o.Binary's verified copy) with
// go-plugin checking the pinned digest at exec time; it has no pre-check of
// its own.
func launchPinned(ctx context.Context, o LaunchOptions, path string) (*Instance, error) {
	sum, err := hex.DecodeString(o.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("plugin %s: pinned sha256 %q is not 64 hex characters", o.Binary.Name, o.SHA256)
	}
	var h hash.Hash = sha256.New()
	if hook := testHookBeforeExec; hook != nil {
		h = hookHash{Hash: h, fn: func() { hook(o.Binary) }}
	}
	cmd := exec.Command(path)
	cmd.Env = pluginEnv(o.LogLevel)
	// The kernel kills the plugin if the host dies, even by SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	proc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginhost.Handshake,
		VersionedPlugins: pluginhost.PluginSets(),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: h},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     startTimeout,
		Logger:           newBridgeLogger(o.Logger, o.Binary.Path),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
			// Byte streams (transport connections) need more than gRPC's
			// 64 KiB default window, or every 64 KiB frame waits for a
			// window update from the other process.
			grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(connWindow),
		},
	})
	rpc, err := proc.Client()
	if err != nil {
		proc.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, fmt.Errorf("plugin %s: %w: %s changed after it was checked; refusing to run it", o.Binary.Name, ErrChecksumMismatch, path)
		}
		return nil, fmt.Errorf("plugin %s: starting %s: %w", o.Binary.Name, path, err)
	}
	inst := &Instance{Binary: o.Binary, SHA256: o.SHA256, APIVersion: proc.NegotiatedVersion(), proc: proc}
	if rc := proc.ReattachConfig(); rc != nil {
		inst.PID = rc.Pid
	}
	pc, err := pluginhost.Dispense(ctx, rpc)
	if err != nil {
		proc.Kill()
		return nil, fmt.Errorf("plugin %s: %w", o.Binary.Name, err)
	}
	inst.Client = pc
	if err := checkInfo(o.Binary, pc.Info, inst.APIVersion); err != nil {
		proc.Kill()
		return nil, err
	}
	return inst, nil
}

// checkInfo makes sure the plugin is what its file name says and speaks the
// negotiated API version.
func checkInfo(b Binary, info sdk.Info, negotiated int) error {
	if info.Name != b.Name {
		return fmt.Errorf("plugin %s: %w: %s reports the name %q", b.Name, ErrIncompatible, b.Path, info.Name)
	}
	if !slices.Contains(info.APIVersions, negotiated) {
		return fmt.Errorf("plugin %s: %w: negotiated API version %d, plugin supports %s", b.Name, ErrIncompatible,
			negotiated, joinInts(info.APIVersions))
	}
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// Fingerprint starts a binary that is not pinned yet from a private copy
// pinned to the digest of the copied bytes (so it cannot be swapped between
// hashing and exec), and returns that digest and what the plugin says it
// is. `dpc plugin lock` uses it; the operator is vouching for the binary by
// running that command. execDir is as in LaunchOptions.
func Fingerprint(ctx context.Context, b Binary, execDir string, logger hclog.Logger) (string, sdk.Info, error) {
	path, sum, cleanup, err := verifiedCopy(b, execDir)
	if err != nil {
		return "", sdk.Info{}, err
	}
	defer cleanup()
	inst, err := launchPinned(ctx, LaunchOptions{Binary: b, SHA256: sum, Logger: logger, LogLevel: hclog.Warn}, path)
	if err != nil {
		return "", sdk.Info{}, err
	}
	defer inst.Stop(ctx)
	return sum, inst.Client.Info, nil
}
