package fixtureplugin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// Name is the plugin's name (its binary is dpc-plugin-fixture).
const Name = "fixture"

// Config is the fixture's config block.
type Config struct {
	CrashOnConfigure bool `hcl:"crash_on_configure,optional" help:"exit with status 3 inside Configure"`
	Limit            int  `hcl:"limit,optional" help:"a number that must be positive"`
}

// Validate rejects a non-positive limit, pointing at the attribute.
func (c *Config) Validate() error {
	if c.Limit <= 0 {
		return sdk.AttributeError([]string{"limit"}, "must be positive, got %d", c.Limit)
	}
	return nil
}

// Plugin is the fixture.
type Plugin struct {
	mu      sync.Mutex
	objects map[string][]byte
	dataDir string
}

// Interface guard.
var _ sdk.Backup = (*Plugin)(nil)

// Info describes the fixture.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{Name: Name, Version: "1.0.0", Description: "test fixture: in-memory backup"}
}

// DefaultConfig returns the defaults.
func (p *Plugin) DefaultConfig() any { return &Config{Limit: 1} }

// Configure records the call and crashes if asked to.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, _ := req.Config.(*Config)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dataDir = req.DataDir
	if p.objects == nil {
		p.objects = map[string][]byte{}
	}
	p.record("configure")
	if cfg != nil && cfg.CrashOnConfigure {
		os.Exit(3)
	}
	return nil
}

// record appends a line to calls.log in the data directory.
func (p *Plugin) record(what string) {
	if p.dataDir == "" {
		return
	}
	f, err := os.OpenFile(filepath.Join(p.dataDir, "calls.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s pid=%d\n", what, os.Getpid())
}

// Shutdown records the call.
func (p *Plugin) Shutdown(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.record("shutdown")
	return nil
}

// Ping answers.
func (p *Plugin) Ping(context.Context) error { return nil }

func (p *Plugin) store() (map[string][]byte, error) {
	if p.objects == nil {
		return nil, sdk.ErrNotConfigured
	}
	return p.objects, nil
}

func info(key string, b []byte) sdk.ObjectInfo {
	sum := sha256.Sum256(b)
	return sdk.ObjectInfo{Key: key, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Modified: time.Now()}
}

// Put stores the object in memory.
func (p *Plugin) Put(_ context.Context, req sdk.PutRequest) (sdk.PutResult, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return sdk.PutResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, err := p.store()
	if err != nil {
		return sdk.PutResult{}, err
	}
	objs[req.Key] = b
	return sdk.PutResult{Object: info(req.Key, b)}, nil
}

// Get returns the object.
func (p *Plugin) Get(_ context.Context, req sdk.GetRequest) (sdk.GetResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, err := p.store()
	if err != nil {
		return sdk.GetResult{}, err
	}
	b, ok := objs[req.Key]
	if !ok {
		return sdk.GetResult{}, fmt.Errorf("%w: %s", sdk.ErrNotFound, req.Key)
	}
	return sdk.GetResult{Object: sdk.ObjectInfo{Key: req.Key, Size: int64(len(b))}, Body: io.NopCloser(bytes.NewReader(b))}, nil
}

// Stat describes the object.
func (p *Plugin) Stat(_ context.Context, req sdk.StatRequest) (sdk.StatResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, err := p.store()
	if err != nil {
		return sdk.StatResult{}, err
	}
	b, ok := objs[req.Key]
	if !ok {
		return sdk.StatResult{}, fmt.Errorf("%w: %s", sdk.ErrNotFound, req.Key)
	}
	return sdk.StatResult{Object: sdk.ObjectInfo{Key: req.Key, Size: int64(len(b))}}, nil
}

// List lists objects by prefix, unpaged.
func (p *Plugin) List(_ context.Context, req sdk.ListRequest) (sdk.ListResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, err := p.store()
	if err != nil {
		return sdk.ListResult{}, err
	}
	var out sdk.ListResult
	for k, b := range objs {
		if strings.HasPrefix(k, req.Prefix) {
			out.Objects = append(out.Objects, info(k, b))
		}
	}
	sort.Slice(out.Objects, func(i, j int) bool { return out.Objects[i].Key < out.Objects[j].Key })
	return out, nil
}

// Delete removes the object.
func (p *Plugin) Delete(_ context.Context, req sdk.DeleteRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, err := p.store()
	if err != nil {
		return err
	}
	delete(objs, req.Key)
	return nil
}
