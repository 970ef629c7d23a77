package chanstate

import (
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

func TestSmoke(t *testing.T) {
	a, b := nodes[0], nodes[1]
	c, create := newChain(t, a)
	add := c.add(a, b, chanop.PermRead|chanop.PermWrite, create.ID(), create)
	p1 := c.post(b, create.ID(), add)
	l := load(t, c.ch, create, add, p1)
	st := l.State()
	if len(st.Members) != 2 || len(st.Posts) != 1 || len(st.Accepted) != 3 {
		t.Fatalf("state %+v refused %v", st, st.Refused)
	}
}
