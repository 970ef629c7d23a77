package api

// Routes of the introductions capability: vouching for a node to contacts
// and listing the introductions held.

import (
	"errors"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/host/internal/introductions"
)

// IntroduceRequest is the body of POST /v1/introductions.
type IntroduceRequest struct {
	// Subject is the node_id vouched for.
	Subject string `json:"subject"`
	// To are the contacts to give it to; empty: every contact.
	To []string `json:"to,omitempty"`
	// ValidFor is how long it is valid, a Go duration ("720h"); empty:
	// introductions.DefaultValidity.
	ValidFor string `json:"valid_for,omitempty"`
}

// IntroduceResponse answers POST /v1/introductions: what became of the
// introduction at each contact.
type IntroduceResponse struct {
	Subject    string                   `json:"subject"`
	Deliveries []introductions.Delivery `json:"deliveries"`
}

// IntroductionRoutes are POST /v1/introductions (dpc introduce) and GET
// /v1/introductions (dpc introductions), served by the introductions
// service.
func IntroductionRoutes(svc *introductions.Service) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/introductions", func(w http.ResponseWriter, r *http.Request) {
			var req IntroduceRequest
			if !readJSON(w, r, &req) {
				return
			}
			var validFor time.Duration
			if req.ValidFor != "" {
				d, err := time.ParseDuration(req.ValidFor)
				if err != nil {
					writeJSON(w, http.StatusBadRequest, errorBody{Error: "valid_for: " + err.Error() + ` (want a duration such as "720h")`})
					return
				}
				validFor = d
			}
			out, err := svc.Introduce(r.Context(), req.Subject, req.To, validFor)
			switch {
			case errors.Is(err, introductions.ErrSelf), errors.Is(err, introductions.ErrToSubject),
				errors.Is(err, introductions.ErrNotContact), errors.Is(err, introductions.ErrBadValidity):
				writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			case errors.Is(err, introductions.ErrUnknownNode):
				writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
			case errors.Is(err, introductions.ErrNoContacts):
				writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
			case err != nil:
				writeError(w, err)
			default:
				writeJSON(w, http.StatusOK, IntroduceResponse{Subject: req.Subject, Deliveries: out})
			}
		})
		mux.HandleFunc("GET /v1/introductions", func(w http.ResponseWriter, _ *http.Request) {
			l, err := svc.List()
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, l)
		})
	}
}
