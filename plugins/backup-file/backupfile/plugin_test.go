package backupfile_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/plugins/backup-file/backupfile"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &backupfile.Plugin{} }, sdktest.Options{
		Config: func(t testing.TB) any { return &backupfile.Config{Dir: t.TempDir()} },
	})
}

// newPlugin returns a Plugin configured directly (no gRPC) on a fresh
// directory.
func newPlugin(t *testing.T, maxSize int64) (*backupfile.Plugin, string) {
	t.Helper()
	dir := t.TempDir()
	p := &backupfile.Plugin{}
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: &backupfile.Config{Dir: dir, MaxObjectSize: maxSize},
	}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p, dir
}

// tree lists everything under dir, relative and slash-separated.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func TestConfig(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"relative dir":             {config: &backupfile.Config{Dir: "backups"}, wantPath: "dir", wantText: "must be an absolute path"},
		"dot-relative dir":         {config: &backupfile.Config{Dir: "./backups"}, wantPath: "dir", wantText: "must be an absolute path"},
		"empty dir":                {config: &backupfile.Config{}, wantPath: "dir", wantText: "must not be empty"},
		"dir missing":              {config: json.RawMessage(`{}`), wantPath: "dir", wantText: "required"},
		"dir is a file":            {config: &backupfile.Config{Dir: file}, wantPath: "dir", wantText: "cannot create"},
		"negative max size":        {config: &backupfile.Config{Dir: "/tmp", MaxObjectSize: -1}, wantPath: "max_object_size", wantText: "must be 0"},
		"max size of wrong type":   {config: json.RawMessage(`{"dir": "/tmp", "max_object_size": "1GB"}`), wantPath: "max_object_size", wantText: "want a whole number"},
		"unknown attribute":        {config: json.RawMessage(`{"dir": "/tmp", "fsync": false}`), wantPath: "fsync", wantText: "unknown attribute"},
		"valid, created if absent": {config: &backupfile.Config{Dir: filepath.Join(t.TempDir(), "new", "backups")}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &backupfile.Plugin{}).Configure(t, tc.config)
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			ces := sdk.ConfigErrors(err)
			if len(ces) != 1 {
				t.Fatalf("want one config error, got %d: %v", len(ces), err)
			}
			if got := strings.Join(ces[0].Path, "."); got != tc.wantPath || !strings.Contains(ces[0].Summary, tc.wantText) {
				t.Errorf("want path %q and a summary containing %q, got %q %q", tc.wantPath, tc.wantText, got, ces[0].Summary)
			}
		})
	}
}

func TestConfigureCreatesPrivateDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "backups")
	p := &backupfile.Plugin{}
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{Config: &backupfile.Config{Dir: dir}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("want the directory created, got %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("want mode 0700, got %o", perm)
	}
	if _, err := p.Put(context.Background(), sdk.PutRequest{Key: "x/y", Body: strings.NewReader("secret")}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	ofi, err := os.Stat(filepath.Join(dir, "x", "y"))
	if err != nil || ofi.Mode().Perm() != 0o600 {
		t.Errorf("want the object stored with mode 0600, got %v (err %v)", ofi.Mode(), err)
	}
}

func TestKeyValidation(t *testing.T) {
	t.Parallel()
	p, _ := newPlugin(t, 0)
	ctx := context.Background()
	tests := map[string]struct {
		key     string
		wantErr bool
	}{
		"simple":                     {key: "node.bak"},
		"nested":                     {key: "2026/11/node.bak"},
		"dots inside names":          {key: "a..b/.hidden/c."},
		"unicode":                    {key: "sauvegarde/été.bin"},
		"longest allowed":            {key: strings.Repeat(strings.Repeat("k", 199)+"/", 2) + strings.Repeat("k", 112)},
		"empty":                      {key: "", wantErr: true},
		"absolute":                   {key: "/etc/passwd", wantErr: true},
		"dot dot":                    {key: "../escape", wantErr: true},
		"dot dot inside":             {key: "a/../../escape", wantErr: true},
		"dot dot last":               {key: "a/..", wantErr: true},
		"dot segment":                {key: "a/./b", wantErr: true},
		"lone dot":                   {key: ".", wantErr: true},
		"backslash":                  {key: `a\b`, wantErr: true},
		"windows absolute":           {key: `C:\x`, wantErr: true},
		"empty segment":              {key: "a//b", wantErr: true},
		"trailing slash":             {key: "a/", wantErr: true},
		"NUL":                        {key: "a\x00b", wantErr: true},
		"newline":                    {key: "a\nb", wantErr: true},
		"invalid UTF-8":              {key: "a\xffb", wantErr: true},
		"too long":                   {key: strings.Repeat("a/", 256) + "b", wantErr: true},
		"segment too long":           {key: strings.Repeat("s", 201), wantErr: true},
		"reserved temp name":         {key: "a/.dpc-tmp-123", wantErr: true},
		"reserved sidecar name":      {key: ".dpc-sha256.node.bak", wantErr: true},
		"reserved name as directory": {key: ".dpc-x/y", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Put(ctx, sdk.PutRequest{Key: tc.key, Body: strings.NewReader("data")})
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Put %q: want no error, got %v", tc.key, err)
				}
				if _, err := p.Stat(ctx, sdk.StatRequest{Key: tc.key}); err != nil {
					t.Errorf("Stat %q after Put: want no error, got %v", tc.key, err)
				}
				return
			}
			if !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("Put %q: want sdk.ErrInvalidArgument, got %v", tc.key, err)
			}
			if _, err := p.Stat(ctx, sdk.StatRequest{Key: tc.key}); !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("Stat %q: want sdk.ErrInvalidArgument, got %v", tc.key, err)
			}
			if _, err := p.Get(ctx, sdk.GetRequest{Key: tc.key}); !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("Get %q: want sdk.ErrInvalidArgument, got %v", tc.key, err)
			}
			if err := p.Delete(ctx, sdk.DeleteRequest{Key: tc.key}); !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Errorf("Delete %q: want sdk.ErrInvalidArgument, got %v", tc.key, err)
			}
		})
	}
}

var errBroken = errors.New("the reader broke")

// brokenReader yields n bytes, then fails.
type brokenReader struct{ n int }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, errBroken
	}
	k := min(len(p), b.n)
	clear(p[:k])
	b.n -= k
	return k, nil
}

// cancellingReader cancels ctx once it has yielded n bytes.
type cancellingReader struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.n == 0 {
		c.cancel()
		return len(p), nil
	}
	k := min(len(p), c.n)
	c.n -= k
	return k, nil
}

func TestAbortedPutLeavesNothing(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		key     string
		maxSize int64
		reader  func(cancel context.CancelFunc) io.Reader
		want    error
	}{
		"reader fails": {
			key: "a/b/c.bak", reader: func(context.CancelFunc) io.Reader { return &brokenReader{n: 100 << 10} }, want: errBroken,
		},
		"context cancelled": {
			key:    "a/b/c.bak",
			reader: func(cancel context.CancelFunc) io.Reader { return &cancellingReader{n: 100 << 10, cancel: cancel} },
			want:   context.Canceled,
		},
		"too large": {
			key: "a/b/c.bak", maxSize: 1000,
			reader: func(context.CancelFunc) io.Reader { return bytes.NewReader(make([]byte, 1001)) },
			want:   backupfile.ErrObjectTooLarge,
		},
		"top-level key": {
			key: "c.bak", reader: func(context.CancelFunc) io.Reader { return &brokenReader{n: 10} }, want: errBroken,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, dir := newPlugin(t, tc.maxSize)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := p.Put(ctx, sdk.PutRequest{Key: tc.key, Body: tc.reader(cancel)})
			if !errors.Is(err, tc.want) {
				t.Fatalf("want errors.Is(err, %v), got %v", tc.want, err)
			}
			if got := tree(t, dir); len(got) != 0 {
				t.Errorf("want an empty directory, got %v", got)
			}
			if _, err := p.Stat(context.Background(), sdk.StatRequest{Key: tc.key}); !errors.Is(err, sdk.ErrNotFound) {
				t.Errorf("Stat: want sdk.ErrNotFound, got %v", err)
			}
		})
	}
}

func TestAbortedOverwriteKeepsOldObject(t *testing.T) {
	t.Parallel()
	p, dir := newPlugin(t, 0)
	ctx := context.Background()
	old := []byte("the previous backup")
	if _, err := p.Put(ctx, sdk.PutRequest{Key: "k/node.bak", Body: bytes.NewReader(old)}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	before := tree(t, dir)
	if _, err := p.Put(ctx, sdk.PutRequest{Key: "k/node.bak", Body: &brokenReader{n: 1 << 20}}); !errors.Is(err, errBroken) {
		t.Fatalf("want the broken reader's error, got %v", err)
	}
	if after := tree(t, dir); !slices.Equal(before, after) {
		t.Errorf("want the files unchanged %v, got %v", before, after)
	}
	obj, err := p.Get(ctx, sdk.GetRequest{Key: "k/node.bak"})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	rc, info := obj.Body, obj.Object
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, old) || info.SHA256 != sha(old) {
		t.Errorf("want the old object %q, got %q (sha256 %s)", old, got, info.SHA256)
	}
}

func TestAbortedPutOverTheWire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := sdktest.New(t, &backupfile.Plugin{})
	if err := h.Configure(t, &backupfile.Config{Dir: dir}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	_, err := h.Client.Backup.Put(context.Background(), sdk.PutRequest{Key: "wire/aborted.bak", Body: &brokenReader{n: 300 << 10}})
	if !errors.Is(err, errBroken) {
		t.Fatalf("want the reader's error, got %v", err)
	}
	// The host side returns at once; the plugin cleans up when it sees the
	// stream cancelled.
	deadline := time.Now().Add(time.Minute) // a safety net, not a pace
	for len(tree(t, dir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("want an empty directory, still got %v", tree(t, dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMaxObjectSize(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		maxSize int64
		size    int
		wantErr bool
	}{
		"unlimited":         {maxSize: 0, size: 2 << 20},
		"below the limit":   {maxSize: 1000, size: 999},
		"at the limit":      {maxSize: 1000, size: 1000},
		"one over":          {maxSize: 1000, size: 1001, wantErr: true},
		"far over":          {maxSize: 1000, size: 1 << 20, wantErr: true},
		"empty with limit":  {maxSize: 1, size: 0},
		"limit of one byte": {maxSize: 1, size: 2, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, _ := newPlugin(t, tc.maxSize)
			data := bytes.Repeat([]byte{7}, tc.size)
			put, err := p.Put(context.Background(), sdk.PutRequest{Key: "obj", Body: bytes.NewReader(data)})
			info := put.Object
			if tc.wantErr {
				if !errors.Is(err, backupfile.ErrObjectTooLarge) || !errors.Is(err, sdk.ErrInvalidArgument) {
					t.Errorf("want ErrObjectTooLarge and sdk.ErrInvalidArgument, got %v", err)
				}
				return
			}
			if err != nil || info.Size != int64(tc.size) || info.SHA256 != sha(data) {
				t.Errorf("want size %d sha256 %s, got %+v (err %v)", tc.size, sha(data), info, err)
			}
		})
	}
}

func TestMaxObjectSizeOverTheWire(t *testing.T) {
	t.Parallel()
	h := sdktest.New(t, &backupfile.Plugin{})
	if err := h.Configure(t, json.RawMessage(fmt.Sprintf(`{"dir": %q, "max_object_size": 100}`, t.TempDir()))); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	_, err := h.Client.Backup.Put(context.Background(), sdk.PutRequest{Key: "big", Body: bytes.NewReader(make([]byte, 200<<10))})
	if !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), "max_object_size") {
		t.Errorf("want sdk.ErrInvalidArgument naming max_object_size, got %v", err)
	}
}

func TestObjects(t *testing.T) {
	t.Parallel()
	p, dir := newPlugin(t, 0)
	ctx := context.Background()
	data := []byte("ciphertext")
	before := time.Now().Add(-time.Second)
	put, err := p.Put(ctx, sdk.PutRequest{Key: "2026/11/node.bak", Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	info := put.Object
	if info.Key != "2026/11/node.bak" || info.Size != int64(len(data)) || info.SHA256 != sha(data) ||
		info.Modified.Before(before) || info.Modified.After(time.Now().Add(time.Second)) {
		t.Errorf("Put: want key, size %d, sha256 %s and a recent time, got %+v", len(data), sha(data), info)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "2026", "11", "node.bak"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("want the object stored byte for byte as a plain file, got %q (err %v)", onDisk, err)
	}

	tests := map[string]struct {
		call func() error
		want error
	}{
		"get missing":         {call: func() error { _, err := p.Get(ctx, sdk.GetRequest{Key: "nope"}); return err }, want: sdk.ErrNotFound},
		"stat missing":        {call: func() error { _, err := p.Stat(ctx, sdk.StatRequest{Key: "2026/11/nope"}); return err }, want: sdk.ErrNotFound},
		"get below an object": {call: func() error { _, err := p.Get(ctx, sdk.GetRequest{Key: "2026/11/node.bak/x"}); return err }, want: sdk.ErrNotFound},
		"get a directory":     {call: func() error { _, err := p.Get(ctx, sdk.GetRequest{Key: "2026/11"}); return err }, want: sdk.ErrNotFound},
		"stat a directory":    {call: func() error { _, err := p.Stat(ctx, sdk.StatRequest{Key: "2026"}); return err }, want: sdk.ErrNotFound},
		"delete missing":      {call: func() error { return p.Delete(ctx, sdk.DeleteRequest{Key: "nope/nope"}) }, want: nil},
		"delete a directory":  {call: func() error { return p.Delete(ctx, sdk.DeleteRequest{Key: "2026"}) }, want: nil},
		"put below an object": {call: func() error {
			_, err := p.Put(ctx, sdk.PutRequest{Key: "2026/11/node.bak/x", Body: strings.NewReader("x")})
			return err
		}, want: sdk.ErrInvalidArgument},
		"put over a directory": {call: func() error {
			_, err := p.Put(ctx, sdk.PutRequest{Key: "2026/11", Body: strings.NewReader("x")})
			return err
		}, want: sdk.ErrInvalidArgument},
		"stat existing":           {call: func() error { _, err := p.Stat(ctx, sdk.StatRequest{Key: "2026/11/node.bak"}); return err }, want: nil},
		"list with a bogus token": {call: func() error { _, err := p.List(ctx, sdk.ListRequest{PageToken: "\xff"}); return err }, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("want %v, got %v", tc.want, err)
			}
		})
	}
	if _, err := p.Stat(ctx, sdk.StatRequest{Key: "2026/11/node.bak"}); err != nil {
		t.Errorf("want the object to survive the failed calls, got %v", err)
	}
	if err := p.Delete(ctx, sdk.DeleteRequest{Key: "2026/11/node.bak"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("Delete: want the object, its sidecar and the empty directories gone, got %v", got)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	p, dir := newPlugin(t, 0)
	ctx := context.Background()
	// "a-c" sorts before "a/b" ('-' < '/') although the walk visits "a/" first.
	keys := []string{"a/b", "a-c", "a/a/z", "a/c", "b", "ab/x", "z/y/x/w"}
	for _, k := range keys {
		if _, err := p.Put(ctx, sdk.PutRequest{Key: k, Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	// Files that are not objects: a stray temp file, a symlink, and a file
	// whose name is not a valid key.
	for _, name := range []string{".dpc-tmp-999", `a/bad\name`} {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "b"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		prefix   string
		pageSize int
		want     []string
		wantPgs  int
	}{
		"everything, one page":    {want: []string{"a-c", "a/a/z", "a/b", "a/c", "ab/x", "b", "z/y/x/w"}, wantPgs: 1},
		"everything, pages of 2":  {pageSize: 2, want: []string{"a-c", "a/a/z", "a/b", "a/c", "ab/x", "b", "z/y/x/w"}, wantPgs: 4},
		"everything, pages of 7":  {pageSize: 7, want: []string{"a-c", "a/a/z", "a/b", "a/c", "ab/x", "b", "z/y/x/w"}, wantPgs: 1},
		"directory prefix":        {prefix: "a/", want: []string{"a/a/z", "a/b", "a/c"}, wantPgs: 1},
		"name prefix":             {prefix: "a", pageSize: 3, want: []string{"a-c", "a/a/z", "a/b", "a/c", "ab/x"}, wantPgs: 2},
		"prefix inside a segment": {prefix: "z/y/", want: []string{"z/y/x/w"}, wantPgs: 1},
		"exact key as prefix":     {prefix: "b", want: []string{"b"}, wantPgs: 1},
		"no match":                {prefix: "q", want: nil, wantPgs: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got []string
			pages := 0
			req := sdk.ListRequest{Prefix: tc.prefix, PageSize: tc.pageSize}
			for {
				res, err := p.List(ctx, req)
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				pages++
				for _, o := range res.Objects {
					got = append(got, o.Key)
					if o.SHA256 != sha([]byte(o.Key)) || o.Size != int64(len(o.Key)) {
						t.Errorf("%s: want size %d sha256 %s, got %+v", o.Key, len(o.Key), sha([]byte(o.Key)), o)
					}
				}
				if res.NextPageToken == "" {
					break
				}
				if pages > 20 {
					t.Fatalf("want paging to end, got more than 20 pages")
				}
				req.PageToken = res.NextPageToken
			}
			if !slices.Equal(got, tc.want) || pages != tc.wantPgs {
				t.Errorf("want %v in %d pages, got %v in %d", tc.want, tc.wantPgs, got, pages)
			}
		})
	}
}

func TestDigestRecomputedWhenStale(t *testing.T) {
	t.Parallel()
	p, dir := newPlugin(t, 0)
	ctx := context.Background()
	if _, err := p.Put(ctx, sdk.PutRequest{Key: "d/obj", Body: strings.NewReader("original")}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	path := filepath.Join(dir, "d", "obj")
	tests := map[string]struct {
		change func(t *testing.T)
		want   []byte
	}{
		"content replaced behind the plugin's back": {
			change: func(t *testing.T) {
				if err := os.WriteFile(path, []byte("replaced, and longer"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []byte("replaced, and longer"),
		},
		"same size, new mtime": {
			change: func(t *testing.T) {
				if err := os.WriteFile(path, []byte("REPLACED, AND LONGER"), 0o600); err != nil {
					t.Fatal(err)
				}
				later := time.Now().Add(time.Hour)
				if err := os.Chtimes(path, later, later); err != nil {
					t.Fatal(err)
				}
			},
			want: []byte("REPLACED, AND LONGER"),
		},
		"sidecar missing": {
			change: func(t *testing.T) {
				if err := os.Remove(filepath.Join(dir, "d", ".dpc-sha256.obj")); err != nil {
					t.Fatal(err)
				}
			},
			want: []byte("REPLACED, AND LONGER"),
		},
		"sidecar garbage": {
			change: func(t *testing.T) {
				if err := os.WriteFile(filepath.Join(dir, "d", ".dpc-sha256.obj"), []byte("zz 1 2\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []byte("REPLACED, AND LONGER"),
		},
	}
	// Sequential: each case builds on the file the previous one left.
	for _, name := range []string{"content replaced behind the plugin's back", "same size, new mtime", "sidecar missing", "sidecar garbage"} {
		tc := tests[name]
		t.Run(name, func(t *testing.T) {
			tc.change(t)
			stat, err := p.Stat(ctx, sdk.StatRequest{Key: "d/obj"})
			st := stat.Object
			if err != nil || st.SHA256 != sha(tc.want) || st.Size != int64(len(tc.want)) {
				t.Fatalf("Stat: want sha256 %s size %d, got %+v (err %v)", sha(tc.want), len(tc.want), st, err)
			}
			side, err := os.ReadFile(filepath.Join(dir, "d", ".dpc-sha256.obj"))
			if err != nil || !strings.HasPrefix(string(side), sha(tc.want)+" ") {
				t.Errorf("want the sidecar rewritten with %s, got %q (err %v)", sha(tc.want), side, err)
			}
		})
	}
}

func TestConcurrentPutsOfOneKey(t *testing.T) {
	t.Parallel()
	p, _ := newPlugin(t, 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte(i)}, 10_000+i*1000)
			if _, err := p.Put(ctx, sdk.PutRequest{Key: "same/key", Body: bytes.NewReader(data)}); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	obj, err := p.Get(ctx, sdk.GetRequest{Key: "same/key"})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	rc, info := obj.Body, obj.Object
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if info.SHA256 != sha(got) || info.Size != int64(len(got)) || len(got) == 0 {
		t.Errorf("want one whole object whose info matches it, got %d bytes, info %+v", len(got), info)
	}
	if want := bytes.Repeat(got[:1], len(got)); !bytes.Equal(got, want) {
		t.Errorf("want the bytes of a single Put, got a mix")
	}
}

func TestConfigureSweepsStaleTempFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "x", ".dpc-tmp-old")
	fresh := filepath.Join(dir, ".dpc-tmp-fresh")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{old, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	p := &backupfile.Plugin{}
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{Config: &backupfile.Config{Dir: dir}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("want the stale temp file removed, got %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("want a recent temp file (maybe a Put in flight) kept, got %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	p := &backupfile.Plugin{}
	ctx := context.Background()
	tests := map[string]func() error{
		"put":    func() error { _, err := p.Put(ctx, sdk.PutRequest{Key: "k", Body: strings.NewReader("x")}); return err },
		"get":    func() error { _, err := p.Get(ctx, sdk.GetRequest{Key: "k"}); return err },
		"stat":   func() error { _, err := p.Stat(ctx, sdk.StatRequest{Key: "k"}); return err },
		"list":   func() error { _, err := p.List(ctx, sdk.ListRequest{}); return err },
		"delete": func() error { return p.Delete(ctx, sdk.DeleteRequest{Key: "k"}) },
		"ping":   func() error { return p.Ping(ctx) },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := call(); !errors.Is(err, sdk.ErrNotConfigured) {
				t.Errorf("want sdk.ErrNotConfigured, got %v", err)
			}
		})
	}
}

func TestPingNoticesMissingDir(t *testing.T) {
	t.Parallel()
	p, dir := newPlugin(t, 0)
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: want nil, got %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(context.Background()); !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("Ping after the directory vanished: want sdk.ErrUnavailable, got %v", err)
	}
}
