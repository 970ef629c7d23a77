package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/dpc-go/dpc/host/internal/personal"
)

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

// ContextDocument is what GET /v1/context answers, and PUT /v1/context
// once it saved: the personal context in force.
type ContextDocument struct {
	// Path is the file, $DPC_HOME/personal.json.
	Path string `json:"path"`
	// Text is the document in force, laid out as the file is written: what
	// an editor starts from.
	Text string `json:"text"`
	// Hash names its version: an edit sends it back (ContextEdit.Hash).
	Hash string `json:"hash"`
	// Error says why the file as it is now is not in force (Text, the
	// previous version, is), with line:column for each problem.
	Error string `json:"error,omitempty"`
}

// ContextEdit is the body of PUT /v1/context.
type ContextEdit struct {
	// Text is the whole new personal.json.
	Text string `json:"text"`
	// Hash is the version the edit started from (ContextDocument.Hash): if
	// the context changed since, the edit is refused with 409.
	Hash string `json:"hash"`
	// DryRun only checks Text: 200 with {"valid": true}, or 400 with the
	// problems, and nothing is saved.
	DryRun bool `json:"dry_run,omitempty"`
}

// Checked answers a dry run that found no problem.
type Checked struct {
	Valid bool `json:"valid"`
}

// ContextFileRoutes are GET and PUT /v1/context: the web UI's editor of
// the personal context. PUT checks the text as `dpc context edit` does and
// saves it the same way (personal.File.Replace): written atomically and in
// force at once; the node's watch of the file then tells the peers whose
// view of it changed, as after `dpc context set`.
func ContextFileRoutes(f *personal.File) Routes {
	current := func() (ContextDocument, error) {
		c := f.Context()
		text, err := c.Encode()
		if err != nil {
			return ContextDocument{}, fmt.Errorf("encode personal context: %w", err)
		}
		d := ContextDocument{Path: f.Path(), Text: string(text), Hash: c.Hash()}
		if err := f.LastError(); err != nil {
			d.Error = err.Error()
		}
		return d, nil
	}
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/context", func(w http.ResponseWriter, _ *http.Request) {
			d, err := current()
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, d)
		})
		mux.HandleFunc("PUT /v1/context", func(w http.ResponseWriter, r *http.Request) {
			var e ContextEdit
			if !readJSONUpTo(w, r, &e, maxFileBody) {
				return
			}
			if _, err := personal.Parse([]byte(e.Text), f.Path()); err != nil {
				writeInvalid(w, err)
				return
			}
			if e.DryRun {
				writeJSON(w, http.StatusOK, Checked{Valid: true})
				return
			}
			if e.Hash == "" {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: `"hash" is missing: send the hash GET /v1/context gave with the text you edited, so that a change made meanwhile is not overwritten`})
				return
			}
			err := f.Replace([]byte(e.Text), e.Hash)
			switch {
			case errors.Is(err, personal.ErrChanged), errors.Is(err, personal.ErrNoContext):
				writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
				return
			case errors.Is(err, personal.ErrInvalidContext):
				// The edit parsed: the problem is the file as it is now,
				// broken by another editor meanwhile.
				writeJSON(w, http.StatusConflict, errorBody{Error: "the file was changed meanwhile and now has errors; fix it or load it again: " + err.Error()})
				return
			case err != nil:
				writeError(w, err)
				return
			}
			d, err := current()
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, d)
		})
	}
}
