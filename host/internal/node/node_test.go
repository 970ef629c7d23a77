package node

import (
	"context"
	"errors"
	"testing"

	"github.com/dpc-go/dpc/sdk"
)

// fakeTransport stands for a running transport; only its identity matters.
type fakeTransport struct{ sdk.Transport }

func TestListenWait(t *testing.T) {
	t.Parallel()
	errTaken := errors.New("address already in use")
	a, b := &fakeTransport{}, &fakeTransport{}
	type result struct {
		tr  sdk.Transport
		err error
	}
	tests := map[string]struct {
		running []sdk.Transport
		results []result
		want    error
	}{
		"no transport: nothing to wait for": {},
		"every transport listens":           {running: []sdk.Transport{a, b}, results: []result{{a, nil}, {b, nil}}},
		"one cannot listen":                 {running: []sdk.Transport{a, b}, results: []result{{a, nil}, {b, errTaken}}, want: errTaken},
		"the first failure ends the wait":   {running: []sdk.Transport{a, b}, results: []result{{a, errTaken}}, want: errTaken},
		"a later result of the same transport is ignored": {
			running: []sdk.Transport{a}, results: []result{{a, nil}, {a, errTaken}},
		},
		"a transport started later is not waited for": {
			running: []sdk.Transport{a}, results: []result{{b, errTaken}, {a, nil}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newListenWait(tc.running)
			for _, r := range tc.results {
				w.report(r.tr, r.err)
			}
			if err := w.wait(context.Background()); !errors.Is(err, tc.want) {
				t.Errorf("want %v, got %v", tc.want, err)
			}
		})
	}
}
