package backupfile

import (
	"context"
	"errors"
	"fmt"
	"github.com/hashicorp/go-hclog"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// pluginName is the plugin's name: its binary is dpc-plugin-backup-file and
// its dpc.hcl block is plugin "backup" "backup-file".
const pluginName = "backup-file"

// Version is the plugin's version.
const Version = "0.1.0"

// staleTempAge is how old a temporary file must be before Configure removes
// it: old enough that no Put can still be writing it.
const staleTempAge = time.Hour

// Interface guards.
var (
	_ sdk.Backup       = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
	_ sdk.Pinger       = (*Plugin)(nil)
)

// Plugin stores backup objects as files. Its zero value is ready for
// Configure and has no side effects; it is safe for concurrent use.
type Plugin struct {
	config sdk.Config[Config]

	// dirMu orders directory creation in Put against the removal of empty
	// directories in Delete, so neither pulls a directory from under the
	// other.
	dirMu sync.Mutex
	// commitMu serialises the renames that publish an object and its
	// sidecar, so that concurrent Puts of one key leave a matching pair.
	commitMu sync.Mutex
}

// state is what the methods need of the configuration.
type state struct {
	root    string
	maxSize int64
	logger  hclog.Logger
}

// Info describes the plugin.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        pluginName,
		Version:     Version,
		Description: "Stores encrypted backup objects as files in a local directory.",
	}
}

// DefaultConfig returns a Config with the defaults: no size limit. Dir has
// no default and must be set.
func (p *Plugin) DefaultConfig() any { return &Config{} }

// Configure creates the directory if needed, checks that it is writable and
// removes temporary files left by a crash.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, err := sdk.ConfigOf[Config](req)
	if err != nil {
		return err
	}
	log := req.Log()
	root := filepath.Clean(cfg.Dir)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return sdk.AttributeError([]string{"dir"}, "cannot create the directory: %v", err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return sdk.AttributeError([]string{"dir"}, "%s is not a directory", root)
	}
	probe, err := os.CreateTemp(root, tempPattern)
	if err != nil {
		return sdk.AttributeError([]string{"dir"}, "the directory is not writable: %v", err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())

	removed := sweepTemp(root, time.Now().Add(-staleTempAge), log)
	log.Info("configured", "dir", root, "max_object_size", cfg.MaxObjectSize, "removed_temp_files", removed)

	// Held only now that the directory is known to work: a Configure that
	// fails leaves the plugin as it was.
	_, _, err = p.config.Set(req)
	return err
}

// Ping checks that the directory is still there.
func (p *Plugin) Ping(context.Context) error {
	st, err := p.configured()
	if err != nil {
		return err
	}
	if _, err := os.Stat(st.root); err != nil {
		return fmt.Errorf("%s: %w: %w", pluginName, sdk.ErrUnavailable, err)
	}
	return nil
}

// Shutdown forgets the configuration. Nothing else is held open: every
// object is closed when its call returns (or, for Get, by the caller).
func (p *Plugin) Shutdown(context.Context) error {
	p.config.Clear()
	return nil
}

func (p *Plugin) configured() (*state, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pluginName, err)
	}
	return &state{root: filepath.Clean(cfg.Dir), maxSize: cfg.MaxObjectSize, logger: log}, nil
}

// sweepTemp removes temporary files under root last modified before cutoff
// and returns how many it removed.
func sweepTemp(root string, cutoff time.Time, log hclog.Logger) int {
	removed := 0
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot remove a stale temporary file", "path", path, "error", err)
			return nil
		}
		removed++
		return nil
	})
	return removed
}
