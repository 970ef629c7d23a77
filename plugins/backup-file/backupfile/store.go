package backupfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/dpc-go/dpc/sdk"
)

const (
	// tempPrefix starts the names of temporary files (Put in progress).
	tempPrefix  = reservedPrefix + "tmp-"
	tempPattern = tempPrefix + "*"
	// sidecarPrefix starts the name of the file caching an object's digest.
	sidecarPrefix = reservedPrefix + "sha256."

	// DefaultPageSize is how many objects List returns when the request
	// does not say; MaxPageSize caps what a request may ask for.
	DefaultPageSize = 1000
	MaxPageSize     = 10000
)

// ErrObjectTooLarge means an object is bigger than max_object_size. It
// crosses the plugin boundary as sdk.ErrInvalidArgument.
var ErrObjectTooLarge = errors.New("object is larger than max_object_size")

// objectPath is where the object with a checked key lives.
func objectPath(root, key string) string { return filepath.Join(root, filepath.FromSlash(key)) }

// sidecarPath is where the digest of the object at path is cached.
func sidecarPath(path string) string {
	return filepath.Join(filepath.Dir(path), sidecarPrefix+filepath.Base(path))
}

func notFound(key string) error {
	return fmt.Errorf("%s: %w: no object %q", pluginName, sdk.ErrNotFound, key)
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Put stores req.Body under req.Key: see the package documentation for how
// it stays atomic.
func (p *Plugin) Put(ctx context.Context, req sdk.PutRequest) (sdk.PutResult, error) {
	st, err := p.configured()
	if err != nil {
		return sdk.PutResult{}, err
	}
	key := req.Key
	if err := checkKey(key); err != nil {
		return sdk.PutResult{}, err
	}
	info, err := p.put(ctx, st, key, req.Body)
	if err != nil {
		st.logger.Warn("put failed", "key", key, "error", err)
		return sdk.PutResult{}, err
	}
	st.logger.Debug("stored object", "key", key, "size", info.Size, "sha256", info.SHA256)
	return sdk.PutResult{Object: info}, nil
}

func (p *Plugin) put(ctx context.Context, st *state, key string, r io.Reader) (sdk.ObjectInfo, error) {
	final := objectPath(st.root, key)
	dir := filepath.Dir(final)

	p.dirMu.Lock()
	tmp, err := createTemp(dir)
	p.dirMu.Unlock()
	if err != nil {
		if conflictsWithObject(st.root, key) {
			return sdk.ObjectInfo{}, fmt.Errorf("%s: %w: key %q is below an existing object", pluginName, sdk.ErrInvalidArgument, key)
		}
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			p.pruneDirs(st.root, dir)
		}
	}()

	h := sha256.New()
	var src io.Reader = &ctxReader{ctx: ctx, r: r}
	if st.maxSize > 0 {
		src = io.LimitReader(src, st.maxSize+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	if st.maxSize > 0 && n > st.maxSize {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: %w: storing %q: %w (%d bytes)", pluginName, sdk.ErrInvalidArgument, key, ErrObjectTooLarge, st.maxSize)
	}
	if err := tmp.Sync(); err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	if err := tmp.Close(); err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	if err := ctx.Err(); err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	info := sdk.ObjectInfo{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Modified: fi.ModTime()}

	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if err := os.Rename(tmp.Name(), final); err != nil {
		if fi, serr := os.Lstat(final); serr == nil && fi.IsDir() {
			return sdk.ObjectInfo{}, fmt.Errorf("%s: %w: key %q names a directory of other objects", pluginName, sdk.ErrInvalidArgument, key)
		}
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: %w", pluginName, key, err)
	}
	committed = true
	if err := writeSidecar(final, info); err != nil {
		// The object is stored; its digest is recomputed when next needed.
		st.logger.Warn("cannot write the digest sidecar", "key", key, "error", err)
	}
	if err := syncDir(dir); err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("%s: storing %q: syncing the directory: %w", pluginName, key, err)
	}
	return info, nil
}

// createTemp creates dir if needed and a temporary file in it.
func createTemp(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, tempPattern)
}

// conflictsWithObject reports whether a proper prefix of key is a file,
// which makes key impossible to store as a file.
func conflictsWithObject(root, key string) bool {
	segs := strings.Split(key, "/")
	for i := 1; i < len(segs); i++ {
		fi, err := os.Lstat(objectPath(root, strings.Join(segs[:i], "/")))
		if err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// pruneDirs removes dir and its parents up to (not including) root while
// they are empty.
func (p *Plugin) pruneDirs(root, dir string) {
	p.dirMu.Lock()
	defer p.dirMu.Unlock()
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if err := os.Remove(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// Get opens the object; the caller closes its Body.
func (p *Plugin) Get(_ context.Context, req sdk.GetRequest) (sdk.GetResult, error) {
	st, err := p.configured()
	if err != nil {
		return sdk.GetResult{}, err
	}
	if err := checkKey(req.Key); err != nil {
		return sdk.GetResult{}, err
	}
	f, info, err := p.open(st, req.Key)
	if err != nil {
		return sdk.GetResult{}, err
	}
	return sdk.GetResult{Object: info, Body: f}, nil
}

// Stat describes the object.
func (p *Plugin) Stat(_ context.Context, req sdk.StatRequest) (sdk.StatResult, error) {
	st, err := p.configured()
	if err != nil {
		return sdk.StatResult{}, err
	}
	if err := checkKey(req.Key); err != nil {
		return sdk.StatResult{}, err
	}
	f, info, err := p.open(st, req.Key)
	if err != nil {
		return sdk.StatResult{}, err
	}
	_ = f.Close()
	return sdk.StatResult{Object: info}, nil
}

// open opens the object with a checked key and describes it. Size, time and
// digest all come from the open file, so they match the bytes it reads even
// if a Put replaces the object meanwhile.
func (p *Plugin) open(st *state, key string) (*os.File, sdk.ObjectInfo, error) {
	path := objectPath(st.root, key)
	if fi, err := os.Lstat(path); isNotExist(err) || (err == nil && !fi.Mode().IsRegular()) {
		return nil, sdk.ObjectInfo{}, notFound(key)
	}
	f, err := os.Open(path)
	if isNotExist(err) {
		return nil, sdk.ObjectInfo{}, notFound(key)
	}
	if err != nil {
		return nil, sdk.ObjectInfo{}, fmt.Errorf("%s: opening %q: %w", pluginName, key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, sdk.ObjectInfo{}, notFound(key)
	}
	var sum string
	if err == nil {
		sum, err = p.digest(st, f, path, fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, sdk.ObjectInfo{}, fmt.Errorf("%s: reading %q: %w", pluginName, key, err)
	}
	return f, sdk.ObjectInfo{Key: key, Size: fi.Size(), SHA256: sum, Modified: fi.ModTime()}, nil
}

// digest returns the SHA-256 of the open object f, from its sidecar when
// that still matches the file's size and mtime, or else by reading f (and
// then rewriting the sidecar).
func (p *Plugin) digest(st *state, f *os.File, path string, fi fs.FileInfo) (string, error) {
	if sum, ok := readSidecar(path, fi); ok {
		return sum, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	st.logger.Debug("recomputed an object digest", "path", path, "sha256", sum)

	// Cache it, unless a Put replaced the object since f was opened.
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if cur, err := os.Lstat(path); err == nil && sameVersion(cur, fi.Size(), fi.ModTime().UnixNano()) {
		if err := writeSidecar(path, sdk.ObjectInfo{Size: fi.Size(), SHA256: sum, Modified: fi.ModTime()}); err != nil {
			st.logger.Warn("cannot write the digest sidecar", "path", path, "error", err)
		}
	}
	return sum, nil
}

func sameVersion(fi fs.FileInfo, size, mtimeNs int64) bool {
	return fi.Mode().IsRegular() && fi.Size() == size && fi.ModTime().UnixNano() == mtimeNs
}

// readSidecar returns the cached digest of the object at path if the
// sidecar describes the version fi.
func readSidecar(path string, fi fs.FileInfo) (string, bool) {
	data, err := os.ReadFile(sidecarPath(path))
	if err != nil || len(data) > 256 {
		return "", false
	}
	f := strings.Fields(string(data))
	if len(f) != 3 {
		return "", false
	}
	sum := f[0]
	size, err1 := strconv.ParseInt(f[1], 10, 64)
	mtime, err2 := strconv.ParseInt(f[2], 10, 64)
	if b, err := hex.DecodeString(sum); err != nil || err1 != nil || err2 != nil ||
		len(b) != sha256.Size || !sameVersion(fi, size, mtime) {
		return "", false
	}
	return sum, true
}

// writeSidecar atomically replaces the sidecar of the object at path. It is
// a cache, so it is not fsynced: if a crash loses it, the digest is
// recomputed.
func writeSidecar(path string, info sdk.ObjectInfo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPattern)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(tmp, "%s %d %d\n", info.SHA256, info.Size, info.Modified.UnixNano())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), sidecarPath(path))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// List returns the objects whose key starts with req.Prefix, sorted by key,
// one page at a time: the page token is the last key of the previous page.
func (p *Plugin) List(ctx context.Context, req sdk.ListRequest) (sdk.ListResult, error) {
	st, err := p.configured()
	if err != nil {
		return sdk.ListResult{}, err
	}
	size := req.PageSize
	switch {
	case size <= 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	keys, err := listKeys(ctx, st.root, req.Prefix, req.PageToken)
	if err != nil {
		return sdk.ListResult{}, fmt.Errorf("%s: listing %q: %w", pluginName, req.Prefix, err)
	}
	sort.Strings(keys)
	var res sdk.ListResult
	for _, k := range keys {
		if len(res.Objects) == size {
			res.NextPageToken = res.Objects[size-1].Key
			break
		}
		f, info, err := p.open(st, k)
		if errors.Is(err, sdk.ErrNotFound) {
			continue // deleted since the walk
		}
		if err != nil {
			return sdk.ListResult{}, err
		}
		_ = f.Close()
		res.Objects = append(res.Objects, info)
	}
	return res, nil
}

// listKeys walks root for the keys that start with prefix and sort after
// token, skipping the plugin's own files, anything that is not a regular
// file, and files whose names are not valid keys.
func listKeys(ctx context.Context, root, prefix, token string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // vanished meanwhile, or unreadable: not ours to list
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return nil
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), reservedPrefix) ||
				!(strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/")) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasPrefix(key, prefix) && key > token && checkKey(key) == nil {
			keys = append(keys, key)
		}
		return nil
	})
	return keys, err
}

// Delete removes the object; a missing key is not an error.
func (p *Plugin) Delete(_ context.Context, req sdk.DeleteRequest) error {
	st, err := p.configured()
	if err != nil {
		return err
	}
	key := req.Key
	if err := checkKey(key); err != nil {
		return err
	}
	path := objectPath(st.root, key)
	dir := filepath.Dir(path)

	p.commitMu.Lock()
	fi, err := os.Lstat(path)
	if isNotExist(err) || (err == nil && !fi.Mode().IsRegular()) {
		p.commitMu.Unlock()
		return nil
	}
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil && !isNotExist(err) {
		p.commitMu.Unlock()
		return fmt.Errorf("%s: deleting %q: %w", pluginName, key, err)
	}
	if err := os.Remove(sidecarPath(path)); err != nil && !isNotExist(err) {
		st.logger.Warn("cannot remove the digest sidecar", "key", key, "error", err)
	}
	p.commitMu.Unlock()

	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s: deleting %q: syncing the directory: %w", pluginName, key, err)
	}
	p.pruneDirs(st.root, dir)
	st.logger.Debug("deleted object", "key", key)
	return nil
}
