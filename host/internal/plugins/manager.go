package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// State is where a supervised plugin is in its life.
type State string

// Plugin states, as `dpc plugin status` shows them.
const (
	StateStarting   State = "starting"
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateFailed     State = "failed"
	StateStopped    State = "stopped"
)

// RestartPolicy says how the manager watches and restarts plugins.
type RestartPolicy struct {
	// HealthInterval is the time between health pings.
	HealthInterval time.Duration
	// PingTimeout bounds one health ping.
	PingTimeout time.Duration
	// FailedPings in a row make the plugin count as crashed.
	FailedPings int
	// BackoffBase is the delay before the first restart; it doubles with
	// every restart inside Window, up to BackoffMax.
	BackoffBase, BackoffMax time.Duration
	// MaxRestarts within Window is the crash-loop cap: one more crash and
	// the manager gives up on the plugin.
	MaxRestarts int
	Window      time.Duration
}

// DefaultRestartPolicy suits a desktop node.
func DefaultRestartPolicy() RestartPolicy {
	return RestartPolicy{
		HealthInterval: 5 * time.Second, PingTimeout: 5 * time.Second, FailedPings: 3,
		BackoffBase: 250 * time.Millisecond, BackoffMax: 30 * time.Second,
		MaxRestarts: 5, Window: time.Minute,
	}
}

// backoff is the delay before restart number n (1-based) inside the window.
func (p RestartPolicy) backoff(n int) time.Duration {
	d := p.BackoffBase
	for i := 1; i < n && d < p.BackoffMax; i++ {
		d *= 2
	}
	return min(d, p.BackoffMax)
}

// exitPollInterval is how often a supervisor checks that its process lives.
const exitPollInterval = 100 * time.Millisecond

// Spec is a configured plugin, ready to launch.
type Spec struct {
	Config config.Plugin
	Binary Binary
	// SHA256 is the digest pinned in dpc.lock.hcl.
	SHA256 string
}

// ID is "<kind>/<name>".
func (s Spec) ID() string { return s.Config.Kind + "/" + s.Config.Name }

// Status is what the user sees of one plugin.
type Status struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	APIVersion int       `json:"api_version"`
	State      State     `json:"state"`
	PID        int       `json:"pid,omitempty"`
	Restarts   int       `json:"restarts"`
	Since      time.Time `json:"since"`
	LastPing   time.Time `json:"last_ping,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	Path       string    `json:"path"`
	// SHA256 is the binary's digest pinned in dpc.lock.hcl: only a binary
	// with it runs.
	SHA256 string `json:"sha256"`
	// Allowed is what the plugin may do through the host (see Grants).
	Allowed []string `json:"allowed"`
}

// DomainSigner signs domain-separated payloads with the node key.
type DomainSigner interface {
	SignDomain(purpose string, data []byte) (sig []byte, algorithm string, signed []byte, err error)
}

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	Logger   hclog.Logger
	LogLevel hclog.Level
	Identity sdk.HostIdentity
	Signer   DomainSigner
	// DataDir holds one state directory per plugin.
	DataDir string
	// ExecDir is where verified copies of the binaries run from (see
	// LaunchOptions).
	ExecDir     string
	EvalContext *hcl.EvalContext
	Policy      RestartPolicy
	// HubSessions keeps hub plugins' sessions; nil: the host keeps none.
	HubSessions HubSessionKeeper
	// Hub carries transports' signals and ICE servers through the node's
	// hub login; nil: transports get neither.
	Hub HubRelay
	// OnEvent, when set, sees every event a plugin emits (the hub service
	// builds its status on them).
	OnEvent func(Event)
	// OnStatus, when set, sees every change of a plugin's state (the node
	// puts it on the event stream, for the web UI).
	OnStatus func(Status)
}

// HubSessionKeeper keeps the latest session of each hub plugin (by id),
// encrypted at rest; an empty session forgets it.
type HubSessionKeeper interface {
	SaveHubSession(plugin string, s sdk.HubSession) error
}

// HubRelay is what transports may use of the node's hub login: sending
// signals to another node, and the hub's STUN/TURN servers.
type HubRelay interface {
	SendSignal(ctx context.Context, req sdk.SendSignalRequest) error
	IceServers(ctx context.Context) ([]sdk.IceServer, error)
}

// Manager runs and supervises the configured plugins.
type Manager struct {
	o      ManagerOptions
	log    hclog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events *eventLog

	mu   sync.Mutex
	sups []*supervisor
}

// NewManager returns a Manager; nothing runs until Start.
func NewManager(o ManagerOptions) *Manager {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Policy == (RestartPolicy{}) {
		o.Policy = DefaultRestartPolicy()
	}
	return &Manager{o: o, log: o.Logger.Named("plugins"), events: newEventLog(eventLogSize)}
}

// Start launches every spec and supervises it. A problem restarting cannot
// fix — a checksum mismatch, an incompatible plugin, an invalid config —
// stops everything and is returned; a plugin that merely crashes is left to
// its supervisor.
func (m *Manager) Start(ctx context.Context, specs []Spec) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	if m.o.ExecDir != "" {
		RemoveStaleCopies(m.o.ExecDir, m.log)
	}
	for _, spec := range specs {
		s := &supervisor{m: m, spec: spec, log: m.o.Logger.Named(spec.Config.Name)}
		s.setState(StateStarting, "")
		if err := s.start(ctx); err != nil {
			if fatal(err) {
				m.Stop(ctx)
				return err
			}
			s.lastErr = err
			s.log.Error("plugin failed to start; will retry", "error", err)
		}
		m.mu.Lock()
		m.sups = append(m.sups, s)
		m.mu.Unlock()
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			s.run(runCtx)
		}()
	}
	return nil
}

// fatal says whether restarting cannot help.
func fatal(err error) bool {
	return errors.Is(err, ErrChecksumMismatch) || errors.Is(err, ErrIncompatible) ||
		errors.Is(err, ErrInvalidConfig) || errors.Is(err, ErrNotFound) || errors.Is(err, home.ErrNotPrivate)
}

// Stop shuts every plugin down gracefully and waits for the supervisors.
func (m *Manager) Stop(ctx context.Context) {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	m.mu.Lock()
	sups := append([]*supervisor(nil), m.sups...)
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop(ctx)
		}()
	}
	wg.Wait()
}

// Status reports every plugin, in configuration order.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, len(m.sups))
	for i, s := range m.sups {
		out[i] = s.snapshot()
	}
	return out
}

// Events returns the most recent events plugins emitted, oldest first.
func (m *Manager) Events() []Event { return m.events.list() }

// Client returns the running plugin with the given id ("<kind>/<name>").
func (m *Manager) Client(id string) (*pluginhost.Client, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sups {
		if s.spec.ID() == id {
			return s.client()
		}
	}
	return nil, false
}

// supervisor keeps one plugin alive.
type supervisor struct {
	m    *Manager
	spec Spec
	log  hclog.Logger

	// configJSON is the validated config block, computed on first launch.
	configJSON []byte
	lastErr    error
	restarts   []time.Time

	mu     sync.Mutex
	inst   *Instance
	status Status
}

func (s *supervisor) setState(st State, lastErr string) {
	s.mu.Lock()
	s.status.ID, s.status.Kind, s.status.Name = s.spec.ID(), s.spec.Config.Kind, s.spec.Config.Name
	s.status.Path, s.status.SHA256 = s.spec.Binary.Path, s.spec.SHA256
	s.status.Allowed = Grants(sdk.Kind(s.spec.Config.Kind))
	s.status.State, s.status.Since = st, time.Now()
	if lastErr != "" {
		s.status.LastError = lastErr
	}
	if st != StateRunning {
		s.status.PID = 0
	}
	now := s.status
	s.mu.Unlock()
	if f := s.m.o.OnStatus; f != nil {
		f(now)
	}
}

func (s *supervisor) snapshot() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *supervisor) client() (*pluginhost.Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inst == nil || s.status.State != StateRunning {
		return nil, false
	}
	return s.inst.Client, true
}

// start launches, validates and configures the plugin.
func (s *supervisor) start(ctx context.Context) error {
	o := s.m.o
	inst, err := Launch(ctx, LaunchOptions{Binary: s.spec.Binary, SHA256: s.spec.SHA256, Logger: s.log, LogLevel: o.LogLevel, ExecDir: o.ExecDir})
	if err != nil {
		return err
	}
	if got := string(inst.Client.Info.Kind); got != s.spec.Config.Kind {
		inst.Stop(ctx)
		return fmt.Errorf("plugin %s: %w: %s is a %s plugin, but %s configures it as %q",
			s.spec.Config.Name, ErrIncompatible, s.spec.Binary.Path, got, config.Pos(s.spec.Config.DeclRange), s.spec.Config.Kind)
	}
	if err := s.configure(ctx, inst); err != nil {
		inst.Stop(ctx)
		return err
	}
	// A first health ping proves the configured plugin answers.
	pctx, cancel := context.WithTimeout(ctx, o.Policy.PingTimeout)
	err = inst.Client.Ping(pctx)
	cancel()
	if err != nil {
		inst.Stop(ctx)
		return fmt.Errorf("plugin %s: first health ping: %w", s.spec.Config.Name, err)
	}
	s.mu.Lock()
	s.inst = inst
	s.status.PID, s.status.Version, s.status.APIVersion = inst.PID, inst.Client.Info.Version, inst.APIVersion
	s.status.LastPing = time.Now()
	s.mu.Unlock()
	s.setState(StateRunning, "")
	s.log.Info("plugin running", "version", inst.Client.Info.Version, "pid", inst.PID, "api_version", inst.APIVersion)
	return nil
}

func (s *supervisor) configure(ctx context.Context, inst *Instance) error {
	o := s.m.o
	if s.configJSON == nil {
		sch, err := inst.Client.ConfigSchema(ctx)
		if err != nil {
			return fmt.Errorf("plugin %s: reading its config schema: %w", s.spec.Config.Name, err)
		}
		raw, err := config.ValidatePluginConfig(s.spec.Config, sch, o.EvalContext)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		s.configJSON = raw
	}
	dataDir := filepath.Join(o.DataDir, s.spec.Config.Name)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("plugin %s: data directory: %w", s.spec.Config.Name, err)
	}
	diags, err := inst.Client.ConfigureRaw(ctx, pluginhost.ConfigureParams{
		ConfigJSON: s.configJSON, Host: &hostService{m: s.m, self: s.spec.ID(), kind: sdk.Kind(s.spec.Config.Kind), log: s.log},
		NodeID: o.Identity.NodeID, DataDir: dataDir, APIVersion: inst.APIVersion,
	})
	if err != nil {
		return fmt.Errorf("plugin %s: configure: %w", s.spec.Config.Name, err)
	}
	if err := pluginhost.DiagnosticsError(diags); err != nil {
		var lines []string
		for _, ce := range sdk.ConfigErrors(err) {
			msg := ce.Summary
			if ce.Detail != "" {
				msg += ": " + ce.Detail
			}
			lines = append(lines, config.Pos(config.AttributeRange(s.spec.Config, ce.Path))+": "+msg)
		}
		return fmt.Errorf("%w: plugin %s rejected its configuration:\n%s", ErrInvalidConfig, s.spec.Config.Name, strings.Join(lines, "\n"))
	}
	return nil
}

// run supervises until ctx ends or the plugin is given up on.
func (s *supervisor) run(ctx context.Context) {
	for {
		s.mu.Lock()
		inst := s.inst
		s.mu.Unlock()
		if inst != nil {
			err := s.watch(ctx, inst)
			if ctx.Err() != nil {
				return
			}
			s.lastErr = err
			s.log.Error("plugin crashed", "error", err)
			inst.proc.Kill()
			s.mu.Lock()
			s.inst = nil
			s.mu.Unlock()
		}
		now := time.Now()
		kept := s.restarts[:0]
		for _, t := range s.restarts {
			if now.Sub(t) < s.m.o.Policy.Window {
				kept = append(kept, t)
			}
		}
		s.restarts = append(kept, now)
		if len(s.restarts) > s.m.o.Policy.MaxRestarts {
			msg := fmt.Sprintf("%v: gave up after %d restarts within %s; last error: %v",
				ErrCrashLoop, s.m.o.Policy.MaxRestarts, s.m.o.Policy.Window, s.lastErr)
			s.setState(StateFailed, msg)
			s.log.Error("giving up on plugin", "reason", msg)
			return
		}
		delay := s.m.o.Policy.backoff(len(s.restarts))
		s.mu.Lock()
		s.status.Restarts++
		s.mu.Unlock()
		s.setState(StateRestarting, s.lastErr.Error())
		s.log.Info("restarting plugin", "in", delay, "attempt", len(s.restarts))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if err := s.start(ctx); err != nil {
			if fatal(err) {
				s.setState(StateFailed, err.Error())
				s.log.Error("plugin cannot be restarted", "error", err)
				return
			}
			s.lastErr = err
			s.log.Error("plugin restart failed", "error", err)
		}
	}
}

// watch returns nil when ctx ends, or the reason the plugin counts as crashed.
func (s *supervisor) watch(ctx context.Context, inst *Instance) error {
	p := s.m.o.Policy
	tick := time.NewTicker(exitPollInterval)
	defer tick.Stop()
	lastPing, failures := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if inst.Exited() {
			return errors.New("plugin process exited unexpectedly")
		}
		if time.Since(lastPing) < p.HealthInterval {
			continue
		}
		lastPing = time.Now()
		pctx, cancel := context.WithTimeout(ctx, p.PingTimeout)
		err := inst.Client.Ping(pctx)
		cancel()
		if err == nil {
			failures = 0
			s.mu.Lock()
			s.status.LastPing = time.Now()
			s.mu.Unlock()
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		failures++
		s.log.Warn("health ping failed", "error", err, "failures", failures)
		if failures >= p.FailedPings {
			return fmt.Errorf("no answer to %d health pings in a row: %w", failures, err)
		}
	}
}

func (s *supervisor) stop(ctx context.Context) {
	s.mu.Lock()
	inst := s.inst
	s.inst = nil
	s.mu.Unlock()
	if inst != nil {
		inst.Stop(ctx)
		s.log.Info("plugin stopped")
	}
	if s.snapshot().State != StateFailed {
		s.setState(StateStopped, "")
	}
}

// OfKind returns the ids of the configured plugins of one kind, in
// configuration order (use Client to get the ones running right now).
func (m *Manager) OfKind(kind sdk.Kind) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.sups {
		if s.spec.Config.Kind == string(kind) {
			out = append(out, s.spec.ID())
		}
	}
	return out
}
