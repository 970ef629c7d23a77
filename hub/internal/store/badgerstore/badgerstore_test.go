package badgerstore

import (
	"errors"
	"testing"

	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/store/storetest"
)

type dirLocation struct{ dir string }

func (l dirLocation) Open(t *testing.T) store.Store {
	t.Helper()
	s, err := Open(l.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Location { return dirLocation{t.TempDir()} })
}

func TestOpenRefusesALockedDir(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: want ErrLocked, got %v", err)
	}
}
