package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotPrivate means someone other than this user could create or replace
// files in a directory that must be private.
var ErrNotPrivate = errors.New("directory is not private")

// EnvVar names the environment variable that selects the data directory.
const EnvVar = "DPC_HOME"

// Dir is a node's data directory.
type Dir string

// Resolve picks the data directory: the flag if given, else $DPC_HOME, else
// ~/.dpc. The result is absolute.
func Resolve(flag string) (Dir, error) {
	p := flag
	if p == "" {
		p = os.Getenv(EnvVar)
	}
	if p == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --home given, %s unset, and no user home directory: %w", EnvVar, err)
		}
		p = filepath.Join(h, ".dpc")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", p, err)
	}
	return Dir(abs), nil
}

// Paths inside the data directory.
func (d Dir) String() string     { return string(d) }
func (d Dir) Config() string     { return filepath.Join(string(d), "dpc.hcl") }
func (d Dir) Lock() string       { return filepath.Join(string(d), "dpc.lock.hcl") }
func (d Dir) Identity() string   { return filepath.Join(string(d), "identity") }
func (d Dir) DB() string         { return filepath.Join(string(d), "db") }
func (d Dir) Plugins() string    { return filepath.Join(string(d), "plugins") }
func (d Dir) APIToken() string   { return filepath.Join(string(d), "api.token") }
func (d Dir) APISocket() string  { return filepath.Join(string(d), "api.sock") }
func (d Dir) PluginExec() string { return filepath.Join(string(d), "plugin-exec") }
func (d Dir) PluginData() string { return filepath.Join(string(d), "plugin-data") }
func (d Dir) Files() string      { return filepath.Join(string(d), "files") }
func (d Dir) Firewall() string   { return filepath.Join(string(d), "firewall.hcl") }
func (d Dir) Personal() string   { return filepath.Join(string(d), "personal.json") }

// CheckPrivate makes sure dir belongs to this user and nobody else may
// write in it, so a file or socket found there was put there by this user.
func CheckPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotPrivate, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s belongs to uid %d, not to you (uid %d)", ErrNotPrivate, dir, st.Uid, os.Getuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: others may write in %s (mode %v); run `chmod 700 %s`", ErrNotPrivate, dir, fi.Mode().Perm(), dir)
	}
	return nil
}
