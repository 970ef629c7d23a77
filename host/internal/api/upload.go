package api

// POST /v1/files/upload: the browser's way to send a file. A page cannot
// give the node a path, so it sends the bytes; they are staged in the data
// directory and offered like POST /v1/files.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// MaxUploadBytes bounds one upload: it is copied into the data directory
// before it is sent. Larger files go with `dpc send-file`, which reads them
// where they are.
const MaxUploadBytes = 4 << 30

// ErrUploadTooLarge means an upload is larger than MaxUploadBytes.
var ErrUploadTooLarge = errors.New("upload too large")

// fileSender is what the upload needs of the files service.
type fileSender interface {
	SendFile(to, path string) (files.Transfer, error)
	Transfers() ([]files.Transfer, error)
}

// uploadsDir holds the staged uploads, one directory each (the file keeps
// its name, which is what the peer sees).
func uploadsDir(home string) string { return filepath.Join(home, "uploads") }

// uploadRoute mounts POST /v1/files/upload?to=NODE_ID&name=FILE, the raw
// body being the file.
func uploadRoute(mux *http.ServeMux, fs fileSender, home string, limit int64) {
	mux.HandleFunc("POST /v1/files/upload", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		to, name := q.Get("to"), q.Get("name")
		if !dpcuri.ValidNodeID(to) {
			writeError(w, fmt.Errorf("%w: to=%q is not a node_id (dpc-node- and 32 hex digits)", ErrBadQuery, to))
			return
		}
		if name == "" {
			writeError(w, fmt.Errorf("%w: name= (the file's name) is missing", ErrBadQuery))
			return
		}
		if err := files.CheckName(name); err != nil {
			writeError(w, fmt.Errorf("%w: name: %w; peers refuse such names, so rename the file first", ErrBadQuery, err))
			return
		}
		if r.ContentLength > limit {
			writeUploadTooLarge(w, limit)
			return
		}
		sweepUploads(fs, home)
		path, err := stageUpload(w, r, home, name, limit)
		if errors.Is(err, ErrUploadTooLarge) {
			writeUploadTooLarge(w, limit)
			return
		}
		if err != nil {
			writeError(w, err)
			return
		}
		t, err := fs.SendFile(to, path)
		if err != nil {
			_ = os.RemoveAll(filepath.Dir(path))
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, t)
	})
}

func writeUploadTooLarge(w http.ResponseWriter, limit int64) {
	writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf(
		"%v: a browser upload is at most %d bytes (it is copied into the data directory first); send larger files with dpc send-file PATH",
		ErrUploadTooLarge, limit)})
}

// stageUpload copies the body to uploads/<random>/<name>, private to the
// node's user; nothing is left behind when it fails.
func stageUpload(w http.ResponseWriter, r *http.Request, home, name string, limit int64) (string, error) {
	dir, err := os.MkdirTemp(mkdirAll(uploadsDir(home)), "up-")
	if err != nil {
		return "", fmt.Errorf("staging the upload: %w", err)
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = io.Copy(f, http.MaxBytesReader(w, r.Body, limit))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", ErrUploadTooLarge
		}
		return "", fmt.Errorf("staging the upload: %w", err)
	}
	return path, nil
}

// mkdirAll makes dir (private) and returns it; MkdirTemp explains a failure.
func mkdirAll(dir string) string {
	_ = os.MkdirAll(dir, 0o700)
	return dir
}

// sweepUploads removes the staged files of uploads whose transfer is over
// (completed or cancelled): until then the sender reads from them, to
// resume after a drop.
func sweepUploads(fs fileSender, home string) {
	list, err := fs.Transfers()
	if err != nil {
		return
	}
	root, err := filepath.Abs(uploadsDir(home))
	if err != nil {
		return
	}
	root += string(filepath.Separator)
	for _, t := range list {
		if t.Direction == files.Outgoing && t.State.Done() && strings.HasPrefix(t.Path, root) {
			_ = os.RemoveAll(filepath.Dir(t.Path))
		}
	}
}
