package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/host/internal/files"
)

// fakeSender records what the upload route offers.
type fakeSender struct {
	mu    sync.Mutex
	sent  map[string][]byte // staged path → its bytes when offered
	list  []files.Transfer
	fail  error
	paths []string
}

func (f *fakeSender) SendFile(to, path string) (files.Transfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return files.Transfer{}, f.fail
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return files.Transfer{}, err
	}
	f.sent[path] = b
	f.paths = append(f.paths, path)
	return files.Transfer{ID: "t1", Peer: to, Direction: files.Outgoing, Name: filepath.Base(path), Path: path,
		Size: int64(len(b)), State: files.StateOffered}, nil
}

func (f *fakeSender) Transfers() ([]files.Transfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]files.Transfer(nil), f.list...), nil
}

const uploadPeer = "dpc-node-0123456789abcdef0123456789abcdee"

func upload(t *testing.T, addr, tok, query string, body io.Reader, size int64) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/files/upload?"+query, body)
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stagedLeft lists what remains under uploads/.
func stagedLeft(t *testing.T, home string) []string {
	t.Helper()
	var left []string
	_ = filepath.Walk(uploadsDir(home), func(p string, fi os.FileInfo, _ error) error {
		if fi != nil && !fi.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// TestUploadStagesAndOffersTheBrowsersFile: the bytes a page sends are
// offered under the name it gives; bad input is refused with a clear
// error and leaves nothing staged.
func TestUploadStagesAndOffersTheBrowsersFile(t *testing.T) {
	t.Parallel()
	const limit = 1 << 10
	q := func(to, name string) string { return url.Values{"to": {to}, "name": {name}}.Encode() }
	tests := map[string]struct {
		query    string
		body     []byte
		chunked  bool // no Content-Length: the limit must hold while reading
		fail     error
		want     int
		wantErr  string
		wantSent bool
	}{
		"a file":                    {query: q(uploadPeer, "notes.txt"), body: []byte("hello bob"), want: http.StatusCreated, wantSent: true},
		"an empty file":             {query: q(uploadPeer, "empty.bin"), body: []byte{}, want: http.StatusCreated, wantSent: true},
		"exactly the limit":         {query: q(uploadPeer, "full.bin"), body: bytes.Repeat([]byte("x"), limit), want: http.StatusCreated, wantSent: true},
		"not a node_id":             {query: q("bob", "notes.txt"), body: []byte("x"), want: http.StatusBadRequest, wantErr: "not a node_id"},
		"no recipient":              {query: "name=notes.txt", body: []byte("x"), want: http.StatusBadRequest, wantErr: "not a node_id"},
		"no name":                   {query: "to=" + uploadPeer, body: []byte("x"), want: http.StatusBadRequest, wantErr: "name= (the file's name) is missing"},
		"a path for a name":         {query: q(uploadPeer, "../../api.token"), body: []byte("x"), want: http.StatusBadRequest, wantErr: "rename the file"},
		"dot-dot name":              {query: q(uploadPeer, ".."), body: []byte("x"), want: http.StatusBadRequest, wantErr: "rename the file"},
		"declared larger than max":  {query: q(uploadPeer, "big.bin"), body: bytes.Repeat([]byte("x"), limit+1), want: http.StatusRequestEntityTooLarge, wantErr: "dpc send-file"},
		"streamed larger than max":  {query: q(uploadPeer, "big.bin"), body: bytes.Repeat([]byte("x"), limit+1), chunked: true, want: http.StatusRequestEntityTooLarge, wantErr: "dpc send-file"},
		"the files service refuses": {query: q(uploadPeer, "notes.txt"), body: []byte("x"), fail: files.ErrInvalidFile, want: http.StatusBadRequest, wantErr: "cannot send this file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			home := filepath.Join(dir, "home")
			fs := &fakeSender{sent: map[string][]byte{}, fail: tc.fail}
			addr, tok := serveWith(t, dir, func(mux *http.ServeMux) { uploadRoute(mux, fs, home, limit) })
			size := int64(len(tc.body))
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				size, body = -1, io.MultiReader(body) // hides the length
			}
			code, got := upload(t, addr, tok, tc.query, body, size)
			if code != tc.want || !strings.Contains(got, tc.wantErr) {
				t.Fatalf("want %d with %q, got %d: %s", tc.want, tc.wantErr, code, got)
			}
			if !tc.wantSent {
				if len(fs.paths) != 0 || len(stagedLeft(t, home)) != 0 {
					t.Errorf("refused upload: want nothing offered nor staged, got offered %v, staged %v", fs.paths, stagedLeft(t, home))
				}
				return
			}
			var tr files.Transfer
			if err := json.Unmarshal([]byte(got), &tr); err != nil {
				t.Fatal(err)
			}
			if len(fs.paths) != 1 || !bytes.Equal(fs.sent[fs.paths[0]], tc.body) || tr.Name != filepath.Base(fs.paths[0]) {
				t.Fatalf("want the body offered once under its name, got %v (%+v)", fs.paths, tr)
			}
			if rel, err := filepath.Rel(uploadsDir(home), fs.paths[0]); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("staged at %s: want it under %s", fs.paths[0], uploadsDir(home))
			}
		})
	}
}

// TestUploadSweepsFinishedStagedFiles: a staged copy stays while its
// transfer may still resume, and goes once the transfer is over.
func TestUploadSweepsFinishedStagedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	fs := &fakeSender{sent: map[string][]byte{}}
	addr, tok := serveWith(t, dir, func(mux *http.ServeMux) { uploadRoute(mux, fs, home, 1<<10) })
	for _, name := range []string{"a.txt", "b.txt"} {
		if code, got := upload(t, addr, tok, "to="+uploadPeer+"&name="+name, strings.NewReader(name), int64(len(name))); code != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", name, code, got)
		}
	}
	fs.mu.Lock()
	fs.list = []files.Transfer{
		{Direction: files.Outgoing, State: files.StateCompleted, Path: fs.paths[0]},
		{Direction: files.Outgoing, State: files.StateTransferring, Path: fs.paths[1]},
	}
	fs.mu.Unlock()
	if code, got := upload(t, addr, tok, "to="+uploadPeer+"&name=c.txt", strings.NewReader("c"), 1); code != http.StatusCreated {
		t.Fatalf("third upload: %d %s", code, got)
	}
	if _, err := os.Stat(fs.paths[0]); !os.IsNotExist(err) {
		t.Errorf("completed transfer's staged file: want removed, got err %v", err)
	}
	if _, err := os.Stat(fs.paths[1]); err != nil {
		t.Errorf("transfer still moving: want its staged file kept (it resumes from it), got %v", err)
	}
}
