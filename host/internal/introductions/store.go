package introductions

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dpc-go/dpc/host/internal/store"
)

// Key prefixes of this package in the node's store.
const (
	prefixReceived = "intro/recv/"
	prefixSent     = "intro/sent/"
	prefixQueued   = "intro/queued/"
)

// record is what is stored for one introduction, received or sent.
type record struct {
	// Introduction is the canonical introduction.
	Introduction []byte `json:"introduction"`
	// SubjectCertificate is the subject's certificate DER (received ones).
	SubjectCertificate []byte `json:"subject_certificate,omitempty"`
	// At is when it was received or delivered.
	At time.Time `json:"at"`
}

func receivedKey(subject, voucher string) []byte {
	return []byte(prefixReceived + subject + "/" + voucher)
}

func sentKey(subject, to string) []byte { return []byte(prefixSent + subject + "/" + to) }

// queuedKey names an introduction waiting for contact to connect; the
// contact comes first so that one session's queue is one prefix.
func queuedKey(to, subject string) []byte { return []byte(prefixQueued + to + "/" + subject) }

// getRecord reads the record at key; found is false when there is none.
func getRecord(st *store.Store, key []byte) (r record, found bool, err error) {
	b, err := st.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, false, fmt.Errorf("introduction record %s: %w", key, err)
	}
	return r, true, nil
}

func putRecord(st *store.Store, key []byte, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return st.Set(key, b)
}

// eachRecord calls fn for every record under prefix with the two node_ids
// of its key (subject, then voucher or contact).
func eachRecord(st *store.Store, prefix string, fn func(subject, other string, r record) error) error {
	return st.Iterate([]byte(prefix), func(key, value []byte) error {
		subject, other, ok := strings.Cut(strings.TrimPrefix(string(key), prefix), "/")
		if !ok {
			return fmt.Errorf("introduction record %s: malformed key", key)
		}
		var r record
		if err := json.Unmarshal(value, &r); err != nil {
			return fmt.Errorf("introduction record %s: %w", key, err)
		}
		return fn(subject, other, r)
	})
}
