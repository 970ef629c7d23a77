package api

// Routes of encrypted backups: start one in the background (progress as
// "backup" events), list the stored ones, verify one.

import (
	"errors"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/host/internal/backup"
	"github.com/dpc-go/dpc/sdk"
)

// BackupRequest is the body of POST /v1/backups and of
// POST /v1/backups/{name}/verify.
type BackupRequest struct {
	Passphrase string `json:"passphrase"`
}

// BackupInfo is one stored backup.
type BackupInfo struct {
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256,omitempty"`
	Modified time.Time `json:"modified"`
}

// BackupList is what GET /v1/backups answers.
type BackupList struct {
	Backups []BackupInfo `json:"backups"`
	// MinPassphrase is the least number of characters of a passphrase,
	// for a form to show the rule.
	MinPassphrase int `json:"min_passphrase"`
}

// BackupVerified is what POST /v1/backups/{name}/verify answers.
type BackupVerified struct {
	Name     string          `json:"name"`
	Manifest backup.Manifest `json:"manifest"`
}

// BackupRoutes are POST /v1/backups, GET /v1/backups and
// POST /v1/backups/{name}/verify, served by the backup service.
func BackupRoutes(s *backup.Service) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/backups", func(w http.ResponseWriter, r *http.Request) {
			var req BackupRequest
			if !readJSON(w, r, &req) {
				return
			}
			p, err := s.Start(req.Passphrase)
			if err != nil {
				writeBackupError(w, err)
				return
			}
			writeJSON(w, http.StatusAccepted, p)
		})
		mux.HandleFunc("GET /v1/backups", func(w http.ResponseWriter, r *http.Request) {
			objs, err := s.List(r.Context())
			if err != nil {
				writeBackupError(w, err)
				return
			}
			out := BackupList{Backups: []BackupInfo{}, MinPassphrase: backup.MinPassphrase}
			for _, o := range objs {
				out.Backups = append(out.Backups, backupInfo(o))
			}
			writeJSON(w, http.StatusOK, out)
		})
		mux.HandleFunc("POST /v1/backups/{name}/verify", func(w http.ResponseWriter, r *http.Request) {
			var req BackupRequest
			if !readJSON(w, r, &req) {
				return
			}
			name := r.PathValue("name")
			m, err := s.Verify(r.Context(), name, req.Passphrase)
			if err != nil {
				writeBackupError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, BackupVerified{Name: name, Manifest: m})
		})
	}
}

func backupInfo(o sdk.ObjectInfo) BackupInfo {
	return BackupInfo{Name: o.Key, Size: o.Size, SHA256: o.SHA256, Modified: o.Modified}
}

// writeBackupError maps the backup service's errors to HTTP statuses.
func writeBackupError(w http.ResponseWriter, err error) {
	code := http.StatusBadGateway // the plugin failed
	switch {
	case errors.Is(err, backup.ErrPassphraseTooShort), errors.Is(err, backup.ErrBadName):
		code = http.StatusBadRequest
	case errors.Is(err, backup.ErrWrongPassphrase), errors.Is(err, backup.ErrCorrupt), errors.Is(err, backup.ErrBadMember):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, backup.ErrNoPlugin), errors.Is(err, backup.ErrBusy):
		code = http.StatusConflict
	case errors.Is(err, sdk.ErrNotFound):
		code = http.StatusNotFound
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}
