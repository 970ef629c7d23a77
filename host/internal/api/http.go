package api

// Helpers every route file shares: reading bodies, mapping errors.

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// maxBody bounds request bodies (a message is at most 64 KiB of text).
const maxBody = 256 << 10

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return readJSONUpTo(w, r, v, maxBody)
}

// writeError maps an error to its HTTP status.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, chat.ErrInvalidMessage), errors.Is(err, network.ErrSelf),
		errors.Is(err, ErrBadQuery), errors.Is(err, chat.ErrBadCursor),
		errors.Is(err, dpcuri.ErrInvalidURI),
		errors.Is(err, files.ErrInvalidFile), errors.Is(err, network.ErrV1Off), errors.Is(err, network.ErrV1NeedsAddress):
		code = http.StatusBadRequest
	case errors.Is(err, network.ErrWrongPeer), errors.Is(err, session.ErrV1Downgrade), errors.Is(err, files.ErrNotWaiting):
		code = http.StatusConflict
	case errors.Is(err, peers.ErrUnknownPeer), errors.Is(err, files.ErrNotFound):
		code = http.StatusNotFound
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// maxFileBody bounds the body of an edit of a whole file (personal.json,
// firewall.hcl): a frame's size, as a context larger than that could not
// be sent to a peer anyway.
const maxFileBody = 4 << 20

// readJSONUpTo is readJSON with another bound on the body.
func readJSONUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "bad request body: " + err.Error()})
		return false
	}
	return true
}

// Diagnostic is one problem in a file a user edits, where an editor can
// show it: line and column start at 1 (0: the problem has no position).
type Diagnostic struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// InvalidFile is the answer (400) to an edit that does not parse: the
// whole message, and each problem with its position.
type InvalidFile struct {
	Error       string       `json:"error"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// writeInvalid answers 400 with err's problems: each diagnostic of a
// *config.Error, or err as one problem without a position.
func writeInvalid(w http.ResponseWriter, err error) {
	body := InvalidFile{Error: err.Error(), Diagnostics: []Diagnostic{}}
	var ce *config.Error
	if !errors.As(err, &ce) {
		body.Diagnostics = append(body.Diagnostics, Diagnostic{Message: err.Error()})
		writeJSON(w, http.StatusBadRequest, body)
		return
	}
	for _, d := range ce.Diags {
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		diag := Diagnostic{Message: msg}
		if d.Subject != nil {
			diag.Line, diag.Column = d.Subject.Start.Line, d.Subject.Start.Column
		}
		body.Diagnostics = append(body.Diagnostics, diag)
	}
	writeJSON(w, http.StatusBadRequest, body)
}
