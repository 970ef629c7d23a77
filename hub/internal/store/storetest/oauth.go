package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// runOAuth is the suite of the account-linking records.
func runOAuth(t *testing.T, newLoc NewLocation, now time.Time) {
	ctx := context.Background()

	t.Run("oauth state is single-use and kept across reopen", func(t *testing.T) {
		loc := newLoc(t)
		s := loc.Open(t)
		st := store.OAuthState{Kind: "state", Hash: hash("state-" + randomID(t)), NodeID: "dpc-node-a", Provider: "corp",
			Verifier: "verifier", NonceHash: hash("nonce"), BrowserHash: hash("browser"), Expires: now.Add(10 * time.Minute)}
		if err := s.PutOAuthState(ctx, st); err != nil {
			t.Fatal(err)
		}
		if err := s.PutOAuthState(ctx, st); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second put: want ErrExists, got %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, loc)
		if _, err := s.TakeOAuthState(ctx, "ticket", st.Hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("take as another kind: want ErrNotFound, got %v", err)
		}
		got, err := s.TakeOAuthState(ctx, "state", st.Hash, now)
		if err != nil {
			t.Fatalf("first take: %v", err)
		}
		if got.NodeID != st.NodeID || got.Provider != st.Provider || got.Verifier != st.Verifier || got.Kind != st.Kind ||
			!bytes.Equal(got.NonceHash, st.NonceHash) || !bytes.Equal(got.BrowserHash, st.BrowserHash) || !got.Expires.Equal(st.Expires) {
			t.Fatalf("took %+v, stored %+v", got, st)
		}
		if _, err := s.TakeOAuthState(ctx, "state", st.Hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second take: want ErrNotFound, got %v", err)
		}
	})

	t.Run("expired oauth state is refused and gone", func(t *testing.T) {
		s := open(t, newLoc(t))
		st := store.OAuthState{Kind: "ticket", Hash: hash("ticket-" + randomID(t)), NodeID: "dpc-node-a", Provider: "corp", Expires: now.Add(time.Minute)}
		if err := s.PutOAuthState(ctx, st); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeOAuthState(ctx, "ticket", st.Hash, st.Expires); !errors.Is(err, store.ErrExpired) {
			t.Fatalf("at expiry: want ErrExpired, got %v", err)
		}
		if _, err := s.TakeOAuthState(ctx, "ticket", st.Hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after expiry: want ErrNotFound, got %v", err)
		}
	})

	t.Run("accounts link to several nodes and unlink per node and provider", func(t *testing.T) {
		loc := newLoc(t)
		s := loc.Open(t)
		acc := func(node, provider, subject string) store.Account {
			return store.Account{Provider: provider, Subject: subject, NodeID: node, Email: subject + "@example.org", Name: "N " + subject, LinkedAt: now}
		}
		for _, a := range []store.Account{
			acc("dpc-node-a", "github", "42"),
			acc("dpc-node-a", "corp", "alice/1"), // a subject may hold a slash
			acc("dpc-node-a", "corp-x", "alice"), // a provider name that extends another
			acc("dpc-node-b", "github", "42"),    // the same person's second node
		} {
			if err := s.LinkAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		// Linking again replaces the record.
		again := acc("dpc-node-a", "github", "42")
		again.Email, again.LinkedAt = "new@example.org", now.Add(time.Minute)
		if err := s.LinkAccount(ctx, again); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, loc)
		list := func(node string) string {
			t.Helper()
			as, err := s.ListAccounts(ctx, node)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, a := range as {
				if a.NodeID != node || !a.LinkedAt.After(now.Add(-time.Second)) {
					t.Fatalf("account %+v listed for %s", a, node)
				}
				out += fmt.Sprintf("%s:%s:%s ", a.Provider, a.Subject, a.Email)
			}
			return out
		}
		cases := []struct {
			name, node, want string
		}{
			{"node a", "dpc-node-a", "corp:alice/1:alice/1@example.org corp-x:alice:alice@example.org github:42:new@example.org "},
			{"node b", "dpc-node-b", "github:42:42@example.org "},
			{"node without accounts", "dpc-node-c", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if got := list(tc.node); got != tc.want {
					t.Fatalf("want %q, got %q", tc.want, got)
				}
			})
		}
		if as, err := s.ListAccounts(ctx, "dpc-node-c"); err != nil || as != nil {
			t.Fatalf("no accounts: want nil, nil; got %v, %v", as, err)
		}
		if err := s.UnlinkAccounts(ctx, "dpc-node-a", "corp"); err != nil {
			t.Fatal(err)
		}
		if got, want := list("dpc-node-a"), "corp-x:alice:alice@example.org github:42:new@example.org "; got != want {
			t.Fatalf("after unlinking corp: want %q, got %q", want, got)
		}
		if err := s.UnlinkAccounts(ctx, "dpc-node-a", "corp"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second unlink: want ErrNotFound, got %v", err)
		}
		if err := s.UnlinkAccounts(ctx, "dpc-node-a", "github"); err != nil {
			t.Fatal(err)
		}
		if got, want := list("dpc-node-b"), "github:42:42@example.org "; got != want {
			t.Fatalf("unlinking node a's github touched node b: %q", got)
		}
	})
}
