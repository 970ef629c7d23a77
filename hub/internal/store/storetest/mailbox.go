package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// Mailbox recipients of the suite (valid node_ids, as the hub stores for).
const (
	mbAlice = "dpc-node-a0000000000000000000000000000000"
	mbBob   = "dpc-node-b0000000000000000000000000000000"
)

// envelope makes an envelope for recipient received at recv, living ttl.
func envelope(id, recipient string, data string, recv time.Time, ttl time.Duration) store.Envelope {
	return store.Envelope{ID: id, Recipient: recipient, Data: []byte(data), Received: recv, Expires: recv.Add(ttl)}
}

func ids(es []store.Envelope) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// noQuota is no bound at all.
var noQuota = store.MailboxQuota{}

// runMailbox is the suite of the mailbox's envelopes.
func runMailbox(t *testing.T, newLoc NewLocation, now time.Time) {
	ctx := context.Background()

	t.Run("mailbox fetches oldest first up to the limit and keeps envelopes across reopen", func(t *testing.T) {
		loc := newLoc(t)
		s := loc.Open(t)
		// Stored out of order; "e0" and "e0b" arrive at the same instant
		// (the id breaks the tie).
		for _, e := range []store.Envelope{
			envelope("e2", mbAlice, "two", now.Add(2*time.Second), time.Hour),
			envelope("e0b", mbAlice, "zero-b", now, time.Hour),
			envelope("e1", mbAlice, "one\x00\xff", now.Add(time.Second), time.Hour),
			envelope("e0", mbAlice, "zero", now, time.Hour),
			envelope("b1", mbBob, "for bob", now, time.Hour),
		} {
			if err := s.PutEnvelope(ctx, e, noQuota); err != nil {
				t.Fatalf("put %s: %v", e.ID, err)
			}
		}
		if err := s.PutEnvelope(ctx, envelope("e1", mbAlice, "again", now, time.Hour), noQuota); !errors.Is(err, store.ErrExists) {
			t.Fatalf("a second envelope with id e1: want ErrExists, got %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, loc)
		cases := map[string]struct {
			recipient string
			limit     int
			want      []string
		}{
			"all of alice's":    {mbAlice, 10, []string{"e0", "e0b", "e1", "e2"}},
			"the two oldest":    {mbAlice, 2, []string{"e0", "e0b"}},
			"bob's own":         {mbBob, 10, []string{"b1"}},
			"nobody's mailbox":  {"dpc-node-c0000000000000000000000000000000", 10, nil},
			"a limit of naught": {mbAlice, 0, nil},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				got, err := s.FetchEnvelopes(ctx, tc.recipient, now, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
					t.Fatalf("want %v, got %v", tc.want, ids(got))
				}
			})
		}
		got, err := s.FetchEnvelopes(ctx, mbAlice, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		e1 := got[2]
		if e1.Recipient != mbAlice || !bytes.Equal(e1.Data, []byte("one\x00\xff")) || !e1.Received.Equal(now.Add(time.Second)) ||
			!e1.Expires.Equal(now.Add(time.Second+time.Hour)) {
			t.Fatalf("e1 read back as %+v", e1)
		}
		// Fetching removes nothing.
		if again, err := s.FetchEnvelopes(ctx, mbAlice, now, 10); err != nil || len(again) != 4 {
			t.Fatalf("second fetch: %v, %v", ids(again), err)
		}
	})

	t.Run("mailbox ack deletes only the caller's own envelopes", func(t *testing.T) {
		s := open(t, newLoc(t))
		for _, e := range []store.Envelope{
			envelope("a1", mbAlice, "x", now, time.Hour),
			envelope("a2", mbAlice, "y", now.Add(time.Second), time.Hour),
			envelope("b1", mbBob, "z", now, time.Hour),
			envelope("same", mbBob, "bob's", now, time.Hour),
			envelope("same", mbAlice, "alice's", now.Add(2*time.Second), time.Hour),
		} {
			if err := s.PutEnvelope(ctx, e, noQuota); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			name      string
			recipient string
			ack       []string
			deleted   int
			leftAlice []string
			leftBob   []string
		}{
			{"bob acks alice's ids", mbBob, []string{"a1", "a2"}, 0, []string{"a1", "a2", "same"}, []string{"b1", "same"}},
			{"alice acks hers, an unknown id and bob's", mbAlice, []string{"a1", "nope", "b1", "a1", "\x00"}, 1, []string{"a2", "same"}, []string{"b1", "same"}},
			{"an id both have: only the caller's goes", mbBob, []string{"same"}, 1, []string{"a2", "same"}, []string{"b1"}},
			{"acking again deletes nothing", mbAlice, []string{"a1"}, 0, []string{"a2", "same"}, []string{"b1"}},
			{"no ids", mbAlice, nil, 0, []string{"a2", "same"}, []string{"b1"}},
		}
		for _, st := range steps {
			n, err := s.AckEnvelopes(ctx, st.recipient, st.ack)
			if err != nil || n != st.deleted {
				t.Fatalf("%s: deleted %d (%v), want %d", st.name, n, err, st.deleted)
			}
			for who, want := range map[string][]string{mbAlice: st.leftAlice, mbBob: st.leftBob} {
				got, err := s.FetchEnvelopes(ctx, who, now, 10)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
					t.Fatalf("%s: %s holds %v, want %v", st.name, who, ids(got), want)
				}
			}
		}
	})

	t.Run("mailbox quota counts envelopes and bytes per recipient", func(t *testing.T) {
		q := store.MailboxQuota{Envelopes: 3, Bytes: 100}
		cases := map[string]struct {
			sizes   []int // stored one after the other for alice
			wantErr []bool
		}{
			"the envelope over the count": {[]int{1, 1, 1, 1}, []bool{false, false, false, true}},
			"the envelope over the bytes": {[]int{60, 41}, []bool{false, true}},
			"exactly the bytes":           {[]int{60, 40}, []bool{false, false}},
			"one envelope over the bytes": {[]int{101}, []bool{true}},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				s := open(t, newLoc(t))
				for i, n := range tc.sizes {
					e := envelope(fmt.Sprintf("q%d", i), mbAlice, string(bytes.Repeat([]byte{'x'}, n)), now.Add(time.Duration(i)*time.Millisecond), time.Hour)
					err := s.PutEnvelope(ctx, e, q)
					if full := errors.Is(err, store.ErrMailboxFull); full != tc.wantErr[i] || (err != nil && !full) {
						t.Fatalf("envelope %d of %d bytes: got %v, want full=%v", i, n, err, tc.wantErr[i])
					}
				}
				// Another recipient's mailbox is its own.
				if err := s.PutEnvelope(ctx, envelope("other", mbBob, "x", now, time.Hour), q); err != nil {
					t.Fatalf("bob's first envelope: %v", err)
				}
			})
		}
		t.Run("an ack makes room", func(t *testing.T) {
			s := open(t, newLoc(t))
			for i := range 3 {
				if err := s.PutEnvelope(ctx, envelope(fmt.Sprintf("r%d", i), mbAlice, "x", now, time.Hour), q); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.PutEnvelope(ctx, envelope("r3", mbAlice, "x", now, time.Hour), q); !errors.Is(err, store.ErrMailboxFull) {
				t.Fatalf("fourth: want ErrMailboxFull, got %v", err)
			}
			if n, err := s.AckEnvelopes(ctx, mbAlice, []string{"r0"}); err != nil || n != 1 {
				t.Fatalf("ack: %d, %v", n, err)
			}
			if err := s.PutEnvelope(ctx, envelope("r3", mbAlice, "x", now, time.Hour), q); err != nil {
				t.Fatalf("after an ack: %v", err)
			}
		})
	})

	t.Run("mailbox quota holds under concurrent puts", func(t *testing.T) {
		s := open(t, newLoc(t))
		q := store.MailboxQuota{Envelopes: 5}
		errs := make(chan error, 20)
		for i := range 20 {
			go func() {
				errs <- s.PutEnvelope(ctx, envelope(fmt.Sprintf("c%02d", i), mbAlice, "x", now, time.Hour), q)
			}()
		}
		stored := 0
		for range 20 {
			err := <-errs
			switch {
			case err == nil:
				stored++
			case !errors.Is(err, store.ErrMailboxFull):
				t.Errorf("concurrent put: %v", err)
			}
		}
		got, err := s.FetchEnvelopes(ctx, mbAlice, now, 100)
		if err != nil || stored != 5 || len(got) != 5 {
			t.Fatalf("20 concurrent puts with a quota of 5: %d stored, %d held (%v)", stored, len(got), err)
		}
	})

	t.Run("expired envelopes are neither fetched nor counted", func(t *testing.T) {
		s := open(t, newLoc(t))
		q := store.MailboxQuota{Envelopes: 2}
		for _, e := range []store.Envelope{
			envelope("short", mbAlice, "x", now, time.Minute),
			envelope("long", mbAlice, "y", now.Add(time.Second), time.Hour),
		} {
			if err := s.PutEnvelope(ctx, e, q); err != nil {
				t.Fatal(err)
			}
		}
		later := now.Add(2 * time.Minute)
		cases := map[string]struct {
			at        time.Time
			wantFetch []string
			wantCount int
		}{
			"before the short one expires": {now.Add(30 * time.Second), []string{"short", "long"}, 2},
			"at its expiry":                {now.Add(time.Minute), []string{"long"}, 1},
			"after it":                     {later, []string{"long"}, 1},
			"after both":                   {now.Add(2 * time.Hour), nil, 0},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				got, err := s.FetchEnvelopes(ctx, mbAlice, tc.at, 10)
				if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(tc.wantFetch) {
					t.Fatalf("fetch: %v (%v), want %v", ids(got), err, tc.wantFetch)
				}
				n, err := s.CountEnvelopes(ctx, tc.at)
				if err != nil || n != tc.wantCount {
					t.Fatalf("count: %d (%v), want %d", n, err, tc.wantCount)
				}
			})
		}
		// The expired envelope leaves room in the quota of 2.
		if err := s.PutEnvelope(ctx, envelope("new", mbAlice, "z", later, time.Hour), q); err != nil {
			t.Fatalf("put after an expiry: %v", err)
		}
		got, err := s.FetchEnvelopes(ctx, mbAlice, later, 10)
		if err != nil || !slices.Equal(ids(got), []string{"long", "new"}) {
			t.Fatalf("after the put: %v (%v)", ids(got), err)
		}
	})
}
