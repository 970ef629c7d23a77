package api

// Routes of the channel capability (dpc channel ...).

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/network"
)

// ChannelCreateRequest is the body of POST /v1/channels.
type ChannelCreateRequest struct {
	Name string `json:"name"`
}

// ChannelCreated answers POST /v1/channels.
type ChannelCreated struct {
	Channel string `json:"channel"`
}

// ChannelMemberRequest is the body of POST /v1/channels/{id}/invite and
// /grant: the node and the permissions (names; none: read and write for
// an invite).
type ChannelMemberRequest struct {
	Node  string   `json:"node"`
	Perms []string `json:"perms,omitempty"`
}

// ChannelPostRequest is the body of POST /v1/channels/{id}/posts.
type ChannelPostRequest struct {
	Text string `json:"text"`
}

// ChannelPosted answers POST /v1/channels/{id}/posts.
type ChannelPosted struct {
	ID string `json:"id"`
}

// channelWait bounds what waits for peers (accept's fetch, sync).
const channelWait = 60 * time.Second

// ChannelRoutes are /v1/channels..., served by the channel service.
func ChannelRoutes(s *channels.Service) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/channels", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, nonNilSlice(s.List()))
		})
		mux.HandleFunc("POST /v1/channels", func(w http.ResponseWriter, r *http.Request) {
			var req ChannelCreateRequest
			if !readJSON(w, r, &req) {
				return
			}
			id, err := s.Create(req.Name)
			if err != nil {
				writeChannelError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, ChannelCreated{Channel: id.String()})
		})
		mux.HandleFunc("GET /v1/channel-invites", func(w http.ResponseWriter, _ *http.Request) {
			ins, err := s.Invites()
			if err != nil {
				writeChannelError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, nonNilSlice(ins))
		})
		withChannel := func(fn func(w http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error)) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				ch, err := channels.ParseChannel(r.PathValue("id"))
				if err != nil {
					writeChannelError(w, err)
					return
				}
				v, err := fn(w, r, ch)
				if err != nil {
					writeChannelError(w, err)
					return
				}
				if v != nil {
					writeJSON(w, http.StatusOK, v)
				}
			}
		}
		ok := map[string]bool{"ok": true}
		mux.HandleFunc("POST /v1/channels/{id}/accept", withChannel(func(_ http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error) {
			ctx, cancel := context.WithTimeout(r.Context(), channelWait)
			defer cancel()
			return ok, s.Accept(ctx, ch)
		}))
		member := func(do func(ch chanop.ID, node string, p chanop.Perm) error) http.HandlerFunc {
			return withChannel(func(w http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error) {
				var req ChannelMemberRequest
				if !readJSON(w, r, &req) {
					return nil, nil
				}
				var perms chanop.Perm
				for _, name := range req.Perms {
					p, err := channels.ParsePerm(name)
					if err != nil {
						return nil, err
					}
					perms |= p
				}
				return ok, do(ch, req.Node, perms)
			})
		}
		mux.HandleFunc("POST /v1/channels/{id}/invite", member(s.Invite))
		mux.HandleFunc("POST /v1/channels/{id}/grant", member(func(ch chanop.ID, node string, p chanop.Perm) error {
			return s.Grant(ch, node, p)
		}))
		mux.HandleFunc("DELETE /v1/channels/{id}/members/{node}", withChannel(func(_ http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error) {
			return ok, s.Remove(ch, r.PathValue("node"))
		}))
		mux.HandleFunc("GET /v1/channels/{id}/members", withChannel(func(_ http.ResponseWriter, _ *http.Request, ch chanop.ID) (any, error) {
			ms, err := s.Members(ch)
			return nonNilSlice(ms), err
		}))
		mux.HandleFunc("POST /v1/channels/{id}/posts", withChannel(func(w http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error) {
			var req ChannelPostRequest
			if !readJSON(w, r, &req) {
				return nil, nil
			}
			id, err := s.Post(ch, req.Text)
			return ChannelPosted{ID: id.String()}, err
		}))
		mux.HandleFunc("GET /v1/channels/{id}/posts", withChannel(func(_ http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error) {
			limit := 0
			if v := r.URL.Query().Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, errors.Join(ErrBadQuery, errors.New("limit must be a number ≥ 0"))
				}
				limit = n
			}
			ps, err := s.Log(ch, limit)
			return nonNilSlice(ps), err
		}))
		mux.HandleFunc("POST /v1/channels/{id}/close", withChannel(func(_ http.ResponseWriter, _ *http.Request, ch chanop.ID) (any, error) {
			return ok, s.Close(ch)
		}))
		mux.HandleFunc("POST /v1/channels/{id}/sync", withChannel(func(_ http.ResponseWriter, r *http.Request, ch chanop.ID) (any, error) {
			ctx, cancel := context.WithTimeout(r.Context(), channelWait)
			defer cancel()
			res, err := s.Sync(ctx, ch)
			return nonNilSlice(res), err
		}))
		mux.HandleFunc("GET /v1/channels/{id}", withChannel(func(_ http.ResponseWriter, _ *http.Request, ch chanop.ID) (any, error) {
			return s.StateOf(ch)
		}))
	}
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeChannelError maps the channel service's errors to HTTP statuses.
func writeChannelError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, channels.ErrBadArgument), errors.Is(err, ErrBadQuery):
		code = http.StatusBadRequest
	case errors.Is(err, channels.ErrUnknownChannel), errors.Is(err, channels.ErrNoInvite):
		code = http.StatusNotFound
	case errors.Is(err, channels.ErrNotMember), errors.Is(err, channels.ErrNoPermission), errors.Is(err, channels.ErrClosed),
		errors.Is(err, channels.ErrRefused), errors.Is(err, channels.ErrNoEnvelopeKey), errors.Is(err, channels.ErrNoKey):
		code = http.StatusConflict
	case errors.Is(err, network.ErrPeerOffline):
		code = http.StatusConflict
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}
