package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// BinaryPrefix starts the file name of every plugin binary.
const BinaryPrefix = "dpc-plugin-"

// Binary is a plugin executable found on disk.
type Binary struct {
	// Name is the plugin name: the file name without BinaryPrefix.
	Name string
	Path string
}

// SearchDirs lists where plugins are looked for, in order: the data
// directory's plugins/ first, then plugins/ next to the running executable
// (so bin/plugins works after `make build`).
func SearchDirs(homePlugins string) []string {
	dirs := []string{homePlugins}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		next := filepath.Join(filepath.Dir(exe), "plugins")
		if next != homePlugins {
			dirs = append(dirs, next)
		}
	}
	return dirs
}

// Discover lists the plugin binaries in dirs. A name found in several
// directories is taken from the first; the others are logged as shadowed.
// Missing directories are fine; entries that are not executable files are
// skipped with a log line saying why.
func Discover(dirs []string, log hclog.Logger) []Binary {
	seen := map[string]Binary{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !os.IsNotExist(err) {
				log.Warn("cannot read plugin directory", "path", dir, "error", err)
			}
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), BinaryPrefix)
			if !ok || name == "" {
				continue
			}
			path := filepath.Join(dir, e.Name())
			fi, err := os.Stat(path)
			switch {
			case err != nil:
				log.Warn("skipping plugin", "path", path, "error", err)
				continue
			case !fi.Mode().IsRegular():
				log.Warn("skipping plugin: not a regular file", "path", path)
				continue
			case fi.Mode().Perm()&0o111 == 0:
				log.Warn("skipping plugin: not executable", "path", path)
				continue
			}
			if prev, dup := seen[name]; dup {
				log.Debug("plugin shadowed by an earlier directory", "plugin", name, "path", path, "used", prev.Path)
				continue
			}
			seen[name] = Binary{Name: name, Path: path}
		}
	}
	out := make([]Binary, 0, len(seen))
	for _, b := range seen {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FileSHA256 returns the lower-case hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
