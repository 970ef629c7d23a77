package chansync

import (
	"context"
	"slices"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// TestWalk checks which ops the answerer sends for a want, on a small DAG:
//
//	G ── a ── c ── e
//	 └── b ──┘    /
//	      └── d ─┘
func TestWalk(t *testing.T) {
	t.Parallel()
	raw, g := genesis(30)
	n := newNode(t, "n", raw, nil)
	add := func(name string, parents ...ID) ID {
		sortIDs(parents)
		id, missing, err := n.log.Add(g, encodeTestOp(testOp{channel: g, parents: parents, body: []byte(name)}))
		if err != nil || len(missing) > 0 {
			t.Fatal(err, missing)
		}
		return id
	}
	a := add("a", g)
	b := add("b", g)
	c := add("c", a, b)
	d := add("d", b)
	e := add("e", c, d)
	names := map[ID]string{g: "G", a: "a", b: "b", c: "c", d: "d", e: "e"}
	tests := map[string]struct {
		want, covered []ID
		wantOrder     []string
	}{
		"nothing known: everything, oldest first": {want: []ID{e}, wantOrder: []string{"G", "a", "b", "c", "d", "e"}},
		"genesis known":                      {want: []ID{e}, covered: []ID{g}, wantOrder: []string{"a", "b", "c", "d", "e"}},
		"one branch known":                   {want: []ID{e}, covered: []ID{a}, wantOrder: []string{"b", "c", "d", "e"}},
		"a merge known covers both branches": {want: []ID{e}, covered: []ID{c}, wantOrder: []string{"d", "e"}},
		"wanted op already covered":          {want: []ID{c}, covered: []ID{e}, wantOrder: nil},
		"two wants share ancestors once":     {want: []ID{c, d}, covered: []ID{g}, wantOrder: []string{"a", "b", "c", "d"}},
		"unknown covering ids are ignored":   {want: []ID{d}, covered: []ID{{0x01}, g}, wantOrder: []string{"b", "d"}},
		"unknown wanted ids give nothing":    {want: []ID{{0x02}}, covered: []ID{g}, wantOrder: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			order, truncated := n.syncer.walk(g, tc.want, tc.covered)
			var got []string
			for _, id := range order {
				got = append(got, names[id])
			}
			if truncated || !slices.Equal(got, tc.wantOrder) {
				t.Errorf("want %v, got %v (truncated %v)", tc.wantOrder, got, truncated)
			}
		})
	}
	// The locator of e: its first-parent chain, then the channel's first op.
	loc := n.syncer.locator(g, []ID{e}, dptp.MaxChannelHave)
	if len(loc) == 0 || loc[len(loc)-1] != g || slices.Contains(loc, e) {
		t.Errorf("locator of e: want its ancestry ending at G, without e, got %d ids", len(loc))
	}
}

// TestSyncPeerClaimingManyPages: a responder that claims 1024 pages of heads
// but shows none is not followed page after page.
func TestSyncPeerClaimingManyPages(t *testing.T) {
	t.Parallel()
	raw, ch := genesis(31)
	n := newNode(t, "n", raw, nil)
	peer := &fakePeer{answer: func(_ int, req dptp.Payload) dptp.Payload {
		r := req.(dptp.ChannelSync)
		return dptp.ChannelSyncResponse{RequestID: r.RequestID, Pages: dptp.MaxChannelPages, Page: r.Page}
	}}
	if _, err := n.syncer.Sync(context.Background(), peer, ch); err != nil {
		t.Fatal(err)
	}
	if peer.n > 1 {
		t.Errorf("want 1 round trip, got %d", peer.n)
	}
}
