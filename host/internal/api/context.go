package api

import "net/http"

// ContextReloader reloads the personal context file; *personal.File
// implements it.
type ContextReloader interface {
	Reload() (hash string, err error)
}

// ContextReload is what POST /v1/context/reload answers: the hash of the
// personal context the node uses now, and why the file could not be
// loaded, if it could not (the previous context then stays in force).
type ContextReload struct {
	Hash  string `json:"hash"`
	Error string `json:"error,omitempty"`
}

// ContextRoutes are POST /v1/context/reload, which `dpc context set`
// and `edit` call after writing personal.json, so that they return only
// once the node uses what they wrote rather than when its file watcher
// notices.
func ContextRoutes(c ContextReloader) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/context/reload", func(w http.ResponseWriter, _ *http.Request) {
			hash, err := c.Reload()
			r := ContextReload{Hash: hash}
			if err != nil {
				r.Error = err.Error()
			}
			writeJSON(w, http.StatusOK, r)
		})
	}
}
