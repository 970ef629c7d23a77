package api

// Routes of the files capability: offering files to peers, listing
// transfers, accepting offers that wait for the user.

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/dpc-go/dpc/host/internal/files"
)

// SendFileRequest is the body of POST /v1/files.
type SendFileRequest struct {
	To   string `json:"to"`
	Path string `json:"path"`
}

// FileRoutes are /v1/files, served by the files service; home is the
// data directory, whose files are never sent.
func FileRoutes(fs *files.Service, home string) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/files", func(w http.ResponseWriter, r *http.Request) {
			var req SendFileRequest
			if !readJSON(w, r, &req) {
				return
			}
			path, err := outsideHome(req.Path, home)
			if err != nil {
				writeJSON(w, http.StatusForbidden, errorBody{Error: err.Error()})
				return
			}
			t, err := fs.SendFile(req.To, path)
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, t)
		})
		mux.HandleFunc("GET /v1/files", func(w http.ResponseWriter, _ *http.Request) {
			list, err := fs.Transfers()
			if err != nil {
				writeError(w, err)
				return
			}
			if list == nil {
				list = []files.Transfer{} // a list, even when empty
			}
			writeJSON(w, http.StatusOK, list)
		})
		mux.HandleFunc("POST /v1/files/{id}/accept", func(w http.ResponseWriter, r *http.Request) {
			t, err := fs.AcceptTransfer(r.PathValue("id"))
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, t)
		})
		uploadRoute(mux, fs, home, MaxUploadBytes)
	}
}

// outsideHome resolves path (symbolic links included) and refuses it if it
// lies inside the data directory home: the keys, the store and the token
// must never leave through a file transfer, whoever asks. The resolved path
// is what is sent, so a link changed after the check leads nowhere new.
func outsideHome(path, home string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		// SendFile explains a missing file; nothing of home can be named
		// by a path that does not resolve.
		return path, nil
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", err
	}
	realHome, err := filepath.EvalSymlinks(home)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", home, err)
	}
	if rel, err := filepath.Rel(realHome, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %s is inside %s, which holds the node's keys, store and API token; "+
			"copy the file out of it to send it", ErrInsideHome, path, home)
	}
	return real, nil
}
