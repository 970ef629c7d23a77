package channels

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/mailbox"
	"github.com/dpc-go/dpc/host/internal/peers"
)

// TestMailBatchesFitAnEnvelope: the ops of one push are split into
// CHANNEL_OPS whose JSON stays under mailBatch (so each envelope stays
// under the hub's 64 KiB) and under MaxChannelOps ops, in order; an op too
// large for any envelope is left to sync instead of failing the rest.
func TestMailBatchesFitAnEnvelope(t *testing.T) {
	s := &Service{log: hclog.NewNullLogger()}
	var ch chanop.ID
	ch[0] = 1
	op := func(i, size int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
	tiny := make([][]byte, 1500)
	for i := range tiny {
		tiny[i] = op(i, 1)
	}
	tests := map[string]struct {
		ops     [][]byte
		batches int
		dropped int
	}{
		"one small op":                        {ops: [][]byte{op(1, 100)}, batches: 1},
		"three 20 KiB ops":                    {ops: [][]byte{op(1, 20<<10), op(2, 20<<10), op(3, 20<<10)}, batches: 2},
		"an op larger than an envelope holds": {ops: [][]byte{op(1, 1000), op(2, 50<<10), op(3, 1000)}, batches: 1, dropped: 1},
		"more ops than a CHANNEL_OPS carries": {ops: tiny, batches: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := s.mailBatches(ch, tc.ops)
			if len(got) != tc.batches {
				t.Fatalf("%d batches, want %d", len(got), tc.batches)
			}
			var sent [][]byte
			for i, b := range got {
				j, err := json.Marshal(b)
				if err != nil {
					t.Fatal(err)
				}
				if len(j) > mailBatch || len(b.Ops) > dptp.MaxChannelOps {
					t.Errorf("batch %d: %d bytes of JSON, %d ops; at most %d and %d", i, len(j), len(b.Ops), mailBatch, dptp.MaxChannelOps)
				}
				if err := b.Validate(); err != nil {
					t.Errorf("batch %d: %v", i, err)
				}
				sent = append(sent, b.Ops...)
			}
			if len(sent) != len(tc.ops)-tc.dropped {
				t.Fatalf("%d ops sent, want %d", len(sent), len(tc.ops)-tc.dropped)
			}
			k := 0
			for _, o := range tc.ops {
				if k < len(sent) && bytes.Equal(o, sent[k]) {
					k++
				}
			}
			if k != len(sent) {
				t.Fatal("ops sent out of order")
			}
		})
	}
}

// TestFullMailBatchSealsUnderTheHubLimit: the largest batch mailBatches
// makes, sealed by an RSA node (the largest certificate and signature),
// is an envelope the hub takes.
func TestFullMailBatchSealsUnderTheHubLimit(t *testing.T) {
	s := &Service{log: hclog.NewNullLogger()}
	from, err := identity.Create(filepath.Join(t.TempDir(), "from"), identity.KeyRSA)
	if err != nil {
		t.Fatal(err)
	}
	to, err := identity.Create(filepath.Join(t.TempDir(), "to"), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	var ch chanop.ID
	// One op that just fits: the batch's JSON is mailBatch bytes or a few less.
	raw := bytes.Repeat([]byte{7}, (mailBatch-200)/4*3)
	batches := s.mailBatches(ch, [][]byte{raw})
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	payload, err := json.Marshal(batches[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) < mailBatch-300 {
		t.Fatalf("the batch is %d bytes, not near the %d limit this test is about", len(payload), mailBatch)
	}
	rec := peers.Peer{NodeID: to.NodeID, Certificate: to.Certificate.Raw, EnvelopeKey: to.EnvelopeKey.PublicKey().Bytes(), EnvelopeBinding: to.EnvelopeBinding}
	env, err := mailbox.Seal(from, rec, dptp.CmdChannelOps, payload)
	if err != nil {
		t.Fatalf("sealing a full batch: %v", err)
	}
	if len(env) > mailbox.MaxEnvelopeSize {
		t.Fatalf("envelope of %d bytes", len(env))
	}
}
