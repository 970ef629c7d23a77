package api

// Helpers every route file shares: reading bodies, mapping errors.

import (
	"encoding/json"
	"errors"
	"net/http"

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
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "bad request body: " + err.Error()})
		return false
	}
	return true
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
