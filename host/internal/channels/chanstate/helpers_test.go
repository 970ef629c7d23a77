package chanstate

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/identity"
)

// nodes are the simulated members' identities, made once for the test binary.
var nodes []*identity.Identity

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chanstate-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := loadNodes(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// loadNodes loads the fixed identities of testdata/nodes (copied to tmp with
// the file modes identity.Load insists on), sorted by node_id.
func loadNodes(tmp string) error {
	for i := range 6 {
		src := filepath.Join("testdata", "nodes", fmt.Sprintf("n%d", i))
		dst := filepath.Join(tmp, fmt.Sprintf("n%d", i))
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		for _, f := range []string{identity.NodeKeyFile, identity.NodeCertFile, identity.EnvelopeKeyFile, identity.EnvelopeSigFile} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, f), b, 0o600); err != nil {
				return err
			}
		}
		id, err := identity.Load(dst)
		if err != nil {
			return err
		}
		nodes = append(nodes, id)
	}
	slices.SortFunc(nodes, func(a, b *identity.Identity) int { return strings.Compare(a.NodeID, b.NodeID) })
	return nil
}

func envKey(id *identity.Identity) (k [32]byte) {
	copy(k[:], id.EnvelopeKey.PublicKey().Bytes())
	return k
}

// wrapped is an opaque stand-in for a wrapped key (chancrypt makes real ones).
func wrapped() []byte {
	b := make([]byte, 48)
	rand.Read(b)
	return b
}

// sealed is an opaque stand-in for a sealed text.
func sealed(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func createBody(id *identity.Identity, name string) chanop.CreateBody {
	return chanop.CreateBody{Name: name, Cert: id.Certificate.Raw, EnvelopeKey: envKey(id), Binding: id.EnvelopeBinding, WrappedKey: wrapped()}
}

func addBody(id *identity.Identity, perms chanop.Perm, epoch chanop.ID) chanop.AddBody {
	return chanop.AddBody{Member: id.NodeID, Cert: id.Certificate.Raw, EnvelopeKey: envKey(id), Binding: id.EnvelopeBinding, Perms: perms, Epoch: epoch, WrappedKey: wrapped()}
}

// keyList wraps a new epoch to the given members, sorted.
func keyList(members []string) []chanop.WrappedFor {
	ms := slices.Clone(members)
	slices.Sort(ms)
	out := make([]chanop.WrappedFor, len(ms))
	for i, m := range ms {
		out[i] = chanop.WrappedFor{Member: m, WrappedKey: wrapped()}
	}
	return out
}

// chain is a test helper that builds ops on a channel by hand.
type chain struct {
	t    testing.TB
	ch   chanop.ID
	time int64
}

func newChain(t testing.TB, creator *identity.Identity) (*chain, *chanop.Op) {
	t.Helper()
	op, err := chanop.Build(creator.Signer, creator.NodeID, chanop.ID{}, nil, chanop.ID{}, 1000, createBody(creator, "test"))
	if err != nil {
		t.Fatal(err)
	}
	return &chain{t: t, ch: op.ID(), time: 1000}, op
}

// op builds an op by author with the given parents.
func (c *chain) op(author *identity.Identity, parents []*chanop.Op, epoch chanop.ID, body chanop.Body) *chanop.Op {
	c.t.Helper()
	c.time++
	ps := make([]chanop.ID, len(parents))
	for i, p := range parents {
		ps[i] = p.ID()
	}
	op, err := chanop.Build(author.Signer, author.NodeID, c.ch, ps, epoch, c.time, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return op
}

func (c *chain) post(author *identity.Identity, epoch chanop.ID, parents ...*chanop.Op) *chanop.Op {
	return c.op(author, parents, epoch, chanop.PostBody{Sealed: sealed(64)})
}

func (c *chain) add(author, member *identity.Identity, perms chanop.Perm, epoch chanop.ID, parents ...*chanop.Op) *chanop.Op {
	return c.op(author, parents, chanop.ID{}, addBody(member, perms, epoch))
}

func (c *chain) remove(author *identity.Identity, target string, remaining []string, parents ...*chanop.Op) *chanop.Op {
	return c.op(author, parents, chanop.ID{}, chanop.RemoveBody{Target: target, Keys: keyList(remaining)})
}

func (c *chain) grant(author *identity.Identity, target string, perms chanop.Perm, parents ...*chanop.Op) *chanop.Op {
	return c.op(author, parents, chanop.ID{}, chanop.GrantBody{Target: target, Perms: perms})
}

func (c *chain) close(author *identity.Identity, parents ...*chanop.Op) *chanop.Op {
	return c.op(author, parents, chanop.ID{}, chanop.CloseBody{})
}

// load adds ops to a fresh log in order and fails on any error.
func load(t testing.TB, ch chanop.ID, ops ...*chanop.Op) *Log {
	t.Helper()
	l := New(ch, Config{})
	for _, op := range ops {
		if _, err := l.Add(op); err != nil {
			t.Fatalf("add %s: %v", op.Header.Type, err)
		}
	}
	return l
}

func accepted(t testing.TB, l *Log, op *chanop.Op) (bool, error) {
	t.Helper()
	stored, ok, reason := l.Status(op.ID())
	if !stored {
		t.Fatalf("%s op %s not stored", op.Header.Type, op.ID())
	}
	return ok, reason
}
