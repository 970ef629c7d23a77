package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/hashicorp/go-hclog"
)

// SchemaVersion is the version of the key space this code reads and writes.
const SchemaVersion = 1

// SchemaVersionKey holds the decimal schema version of the database.
const SchemaVersionKey = "meta/schema_version"

// Options configures Open.
type Options struct {
	// Dir is the database directory; created with mode 0700 if missing.
	// Ignored when InMemory is set.
	Dir string
	// Logger receives badger's log, as a sub-logger named "store".
	// nil discards it.
	Logger hclog.Logger
	// InMemory keeps everything in memory (for tests); nothing is written to disk.
	InMemory bool
}

// Store is an open database. It is safe for concurrent use.
type Store struct {
	db  *badger.DB
	dir string
	// stopGC ends gcLoop; gcDone is closed when it has.
	stopGC, gcDone chan struct{}

	mu     sync.RWMutex // held for reading by operations, for writing by Close
	closed bool
}

// Open opens (or creates) the database described by o and checks its schema
// version.
func Open(o Options) (*Store, error) {
	logger := o.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	logger = logger.Named("store")

	var opts badger.Options
	if o.InMemory {
		opts = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if o.Dir == "" {
			return nil, errors.New("open store: no directory given")
		}
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		// Values above 256 bytes (messages, channel ops) go to the value
		// log and the tree keeps a pointer: compactions then move keys, not
		// the bulk of the data, and their table builders stay small (with
		// 4 KiB, a node that had just received 100k channel messages held
		// 93 MiB of Go heap, with 256 bytes 36–56). The value log is
		// garbage-collected in the background (gcLoop). (An in-memory store
		// has no value log and keeps them in the tree.)
		opts = badger.DefaultOptions(o.Dir).WithValueThreshold(valueThreshold)
	}
	// Memory is bounded by the memtables (8 MB, two at most) and the block
	// and index caches (4 + 2 MB): a node's resident memory should not
	// depend on how much history it holds (see the history e2e test).
	// Past those, a write burst's memory is compaction's: up to 13 table
	// builders per compaction (8 + its splits), each about twice its table size
	// (hence 1 MB base tables) plus, with block compression, a second copy
	// of every block and 2×NumCPU compressing goroutines. Compression is
	// off: most of what a node writes in bulk is ciphertext (channel ops,
	// sealed keys), which does not compress; with it, a node that had just
	// received 100k channel messages held 230 MiB of Go heap, without it
	// and with 1 MB tables 66 MiB (channels' BenchmarkReceiverRSS).
	opts = opts.
		WithLogger(badgerLogger{logger}).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(4 << 20).
		WithIndexCacheSize(2 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithNumCompactors(2).
		WithBaseTableSize(1 << 20).
		WithMetricsEnabled(false).
		WithCompression(options.None).
		WithSyncWrites(true)

	db, err := badger.Open(opts)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w: another dpc process seems to use %s (stop it first): %w", ErrLocked, o.Dir, err)
		}
		return nil, fmt.Errorf("open store %s: %w", o.Dir, err)
	}
	s := &Store{db: db, dir: o.Dir, stopGC: make(chan struct{}), gcDone: make(chan struct{})}
	if err := s.checkSchema(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if o.InMemory {
		close(s.gcDone)
	} else {
		go s.gcLoop(logger)
	}
	return s, nil
}

const (
	// valueThreshold: larger values go to the value log.
	valueThreshold = 256
	// gcInterval is how often the value log is garbage-collected, and
	// gcDiscardRatio how much of a value log file must be stale (values
	// overwritten or deleted: a message whose state changed, a waiting op
	// applied) for badger to rewrite it.
	gcInterval     = 10 * time.Minute
	gcDiscardRatio = 0.5
)

// gcLoop rewrites value log files that are mostly stale, every gcInterval,
// until Close.
func (s *Store) gcLoop(log hclog.Logger) {
	defer close(s.gcDone)
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
		}
		// One file per call; go on while badger finds files worth it.
		for n := 0; ; n++ {
			err := s.db.RunValueLogGC(gcDiscardRatio)
			if err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					log.Warn("value log garbage collection", "error", err)
				}
				if n > 0 {
					log.Debug("value log garbage collected", "files", n)
				}
				break
			}
			select {
			case <-s.stopGC:
				return
			default:
			}
		}
	}
}

// checkSchema writes the schema version into a new database and refuses a
// database written by a newer version.
func (s *Store) checkSchema() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(SchemaVersionKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte(SchemaVersionKey), []byte(strconv.Itoa(SchemaVersion)))
		}
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		v, err := strconv.Atoi(string(raw))
		if err != nil || v < 1 {
			return fmt.Errorf("%w: %s = %q in %s", ErrCorruptSchema, SchemaVersionKey, raw, s.where())
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w: the database in %s has schema version %d, this dpc supports up to %d; "+
				"upgrade dpc (the database was written by a newer version and is left untouched)",
				ErrSchemaTooNew, s.where(), v, SchemaVersion)
		}
		// v < SchemaVersion: migrations go here when SchemaVersion grows.
		return nil
	})
}

func (s *Store) where() string {
	if s.dir == "" {
		return "memory"
	}
	return s.dir
}

// Close flushes and closes the database. Calling it again returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.stopGC)
	<-s.gcDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.where(), err)
	}
	return nil
}

// DB returns the underlying badger database, for transactions and batches
// that span several keys. It must not be closed directly; use Close.
func (s *Store) DB() *badger.DB { return s.db }

// Get returns a copy of the value stored under key, or ErrNotFound.
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	return val, nil
}

// Set stores value under key. When it returns nil the write is on disk.
func (s *Store) Set(key, value []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }); err != nil {
		return fmt.Errorf("set %q: %w", key, err)
	}
	return nil
}

// KV is one key and its value, for SetMany.
type KV struct {
	Key, Value []byte
	// Delete removes Key instead of setting it (Value is ignored).
	Delete bool
}

// SetMany stores every pair, in order, in as few transactions as badger's
// transaction size allows (one, unless the batch is large), each one a
// single synchronous write: many small records cost one disk sync instead
// of one each. When it returns nil every pair is on disk; after an error,
// or a crash, a prefix of the pairs may be (never a later pair without an
// earlier one: the transactions commit one after another).
func (s *Store) SetMany(kvs []KV) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	for len(kvs) > 0 {
		n := 0
		err := s.db.Update(func(txn *badger.Txn) error {
			for n < len(kvs) {
				var err error
				if kvs[n].Delete {
					err = txn.Delete(kvs[n].Key)
				} else {
					err = txn.Set(kvs[n].Key, kvs[n].Value)
				}
				if errors.Is(err, badger.ErrTxnTooBig) && n > 0 {
					return nil // commit these; the rest go in the next transaction
				}
				if err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("set %d keys from %q: %w", len(kvs), kvs[min(n, len(kvs)-1)].Key, err)
		}
		kvs = kvs[n:]
	}
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (s *Store) Delete(key []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(key) }); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// Iterate calls fn for every key that starts with prefix, in key order, from
// one consistent snapshot. key and value are copies fn may keep. An error
// from fn stops the iteration and is returned as is.
func (s *Store) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	var fnErr error
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchSize = 64
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			val, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read %q: %w", item.Key(), err)
			}
			if err := fn(item.KeyCopy(nil), val); err != nil {
				fnErr = err
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("iterate %q: %w", prefix, err)
	}
	return nil
}

// badgerLogger adapts hclog to badger's Logger; badger's INFO is chatty and
// goes to DEBUG, its DEBUG to TRACE.
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(msg(f, a)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(msg(f, a)) }
func (b badgerLogger) Infof(f string, a ...any) {
	if b.l.IsDebug() {
		b.l.Debug(msg(f, a))
	}
}
func (b badgerLogger) Debugf(f string, a ...any) {
	if b.l.IsTrace() {
		b.l.Trace(msg(f, a))
	}
}

func msg(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }
