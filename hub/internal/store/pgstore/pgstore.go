package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// Errors Open and the methods return (besides the store's own).
var (
	// ErrUnavailable: PostgreSQL cannot be reached (down, refusing, not
	// answering, connection lost). The pool reconnects by itself once the
	// server is back.
	ErrUnavailable = fmt.Errorf("PostgreSQL unavailable (%w)", store.ErrUnavailable)
	// ErrBadURL: the connection URL does not parse.
	ErrBadURL = errors.New("bad PostgreSQL URL")
	// ErrAccessDenied: the server refused the user or its password.
	ErrAccessDenied = errors.New("PostgreSQL refused the login")
	// ErrNoDatabase: the URL names a database the server does not have.
	ErrNoDatabase = errors.New("PostgreSQL database does not exist")
	// ErrNoPrivilege: the user may not create the hub's tables.
	ErrNoPrivilege = errors.New("PostgreSQL user may not create the hub's tables")
	// ErrUnstorable: a value holds a NUL byte or invalid UTF-8, which
	// PostgreSQL text cannot hold.
	ErrUnstorable = errors.New("value holds a NUL byte or invalid UTF-8")
)

// defaultConnectTimeout bounds one connection attempt when the URL sets no
// connect_timeout: a server that does not answer gives an error, not a hang.
const defaultConnectTimeout = 10 * time.Second

// ttlGrace keeps an expired nonce or token this long before Cleanup removes
// it, so that "expired" can be told from "unknown" for a while (as in the
// badger store).
const ttlGrace = time.Hour

// cleanupInterval is how often an open Store runs Cleanup by itself.
const cleanupInterval = 10 * time.Minute

// migrationLockID is the advisory lock replicas take while migrating:
// "dpc-hub" in ASCII, so that it is not goose's default lock (another
// program migrating its own tables in the same database does not wait on
// the hub).
const migrationLockID int64 = 0x006470632d687562

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	where  string // host:port/database, for messages
	logger hclog.Logger

	stop     context.CancelFunc // ends the periodic cleanup
	janitor  sync.WaitGroup
	stopOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dbURL (postgres://user:password@host:port/db?...
// or the key=value form), applies the pending migrations (several replicas
// opening at once apply each exactly once) and starts the periodic Cleanup.
// Errors name host:port/database, never the password, and say what to do.
func Open(ctx context.Context, dbURL string, logger hclog.Logger) (*Store, error) {
	return open(ctx, dbURL, logger, cleanupInterval)
}

// open is Open with the cleanup interval (shorter in a test).
func open(ctx context.Context, dbURL string, logger hclog.Logger, cleanupEvery time.Duration) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// The parse error is not wrapped (its ConnString field holds the
		// password in clear), nor its text quoted whole: pgx masks the
		// password "best effort", and one holding an @ shows in part.
		why := err.Error()
		if _, after, ok := strings.Cut(why, "`: "); ok { // "cannot parse `URL`: why"
			why = after
		}
		return nil, fmt.Errorf("hub store: %w %q: %s; write it as postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require",
			ErrBadURL, redact(dbURL, dbURL), redact(why, dbURL))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	s := &Store{where: where(cfg.ConnConfig.Config), logger: logger}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("hub store: PostgreSQL at %s: %w", s.where, err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, connectError(&cfg.ConnConfig.Config, s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	janitorCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.janitor.Add(1)
	go s.cleanupLoop(janitorCtx, cleanupEvery)
	return s, nil
}

// where names the server and database for messages.
func where(c pgconn.Config) string {
	host := c.Host
	if !strings.HasPrefix(host, "/") { // not a unix socket dir
		host = net.JoinHostPort(host, strconv.Itoa(int(c.Port)))
	}
	return host + "/" + c.Database
}

// Password spellings in a connection string, for redact: URL userinfo
// and the key=value form.
var (
	urlPassword = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:(.*)@`)
	kvPassword  = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
)

// redact replaces in s every spelling of the password connString holds.
// It works on strings that do not parse too.
func redact(s, connString string) string {
	var secrets []string
	if m := urlPassword.FindStringSubmatch(connString); m != nil {
		secrets = append(secrets, m[1])
		if u, err := url.PathUnescape(m[1]); err == nil {
			secrets = append(secrets, u)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(connString, -1) {
		secrets = append(secrets, m[1], strings.Trim(m[1], "'"))
	}
	for _, p := range secrets {
		if p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}

// connectError says why the first connection failed and what to do.
func connectError(c *pgconn.Config, where string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "28P01" || pgErr.Code == "28000":
			return fmt.Errorf("hub store: %w: user %q at %s (%s); fix the user and password in the URL, or the server's pg_hba.conf: %w",
				ErrAccessDenied, c.User, where, pgErr.Message, err)
		case pgErr.Code == "3D000":
			return fmt.Errorf("hub store: %w: %s; create it (CREATE DATABASE %s OWNER %s) or fix the database name in the URL: %w",
				ErrNoDatabase, where, quoteIdent(c.Database), quoteIdent(c.User), err)
		}
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("hub store: %w: cannot resolve the host of %s; fix the host in the URL: %w", ErrUnavailable, where, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("hub store: %w: nothing accepts connections at %s; start PostgreSQL or fix the host and port in the URL: %w", ErrUnavailable, where, err)
	case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("hub store: %w: no answer from %s in time; check the host, port and firewalls (connect_timeout in the URL sets the wait): %w", ErrUnavailable, where, err)
	}
	return fmt.Errorf("hub store: %w: cannot connect to PostgreSQL at %s as %q: %w", ErrUnavailable, where, c.User, err)
}

// quoteIdent quotes a PostgreSQL identifier for a message to paste.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// migrate applies the embedded migrations with goose. The session locker
// holds a PostgreSQL advisory lock on one connection while goose reads and
// writes its version table, so replicas starting together apply each
// migration once; the others wait (polling the lock every second) and then
// find nothing pending.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("hub store: migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 600))
	if err != nil {
		return fmt.Errorf("hub store: migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool) // closing it leaves the pool open
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(gooseLogger{s.logger.Named("migrate")}),
		goose.WithVerbose(true))
	if err != nil {
		return fmt.Errorf("hub store: migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
		// Since PostgreSQL 15 only the database's owner may create tables
		// in its public schema by default.
		user := s.pool.Config().ConnConfig.User
		return fmt.Errorf("hub store: %w: user %q at %s (%s); make it the database's owner (ALTER DATABASE %s OWNER TO %s) or GRANT CREATE ON SCHEMA public TO %s: %w",
			ErrNoPrivilege, user, s.where, pgErr.Message, quoteIdent(s.pool.Config().ConnConfig.Database), quoteIdent(user), quoteIdent(user), err)
	}
	if err != nil {
		return fmt.Errorf("hub store: migrating the schema of %s failed (the failed step was rolled back; fix the cause and restart): %w", s.where, err)
	}
	for _, r := range results {
		s.logger.Info("schema migrated", "migration", r.Source.Path, "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}

// gooseLogger sends goose's messages to hclog at DEBUG (Open logs each
// applied migration itself).
type gooseLogger struct{ l hclog.Logger }

func (g gooseLogger) Printf(f string, a ...any) { g.l.Debug(strings.TrimSpace(fmt.Sprintf(f, a...))) }
func (g gooseLogger) Fatalf(f string, a ...any) { g.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...))) }

// Pool is the connection pool (for cross-replica signaling on the same
// database).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops the periodic cleanup and closes the pool.
func (s *Store) Close() error {
	s.stopOnce.Do(func() {
		s.stop()
		s.janitor.Wait()
		s.pool.Close()
	})
	return nil
}

// Ping checks that the database answers; the error wraps ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("hub store: %w at %s: %s", ErrUnavailable, s.where, reason(err))
	}
	return nil
}

// reason is a short why for an unreachable database.
func reason(err error) string {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.As(err, &pgErr):
		return pgErr.Message
	}
	return err.Error()
}

// unavailable reports whether err means the database could not be reached
// or the connection broke, as opposed to an answer.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 57P01-57P03: the server is shutting
		// down, crashed or starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "53300"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed)
}

// fail wraps a failed operation's error, marking an unreachable database
// with ErrUnavailable.
func (s *Store) fail(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("hub store: %s: %w at %s: %w", op, ErrUnavailable, s.where, err)
	}
	return fmt.Errorf("hub store: %s: %w", op, err)
}

// Cleanup deletes nonces, refresh tokens and account-linking states that
// expired more than an hour before now, revocations that ended and
// mailbox envelopes that expired before now, and keys retired more than
// KeyAcceptFor ago. An open Store runs it
// every 10 minutes by itself (every replica does; the deletes are
// idempotent); calling it more often is harmless.
func (s *Store) Cleanup(ctx context.Context, now time.Time) error {
	cut := now.Add(-ttlGrace)
	var removed int64
	for _, q := range []struct {
		sql string
		at  time.Time
	}{
		{"DELETE FROM nonces WHERE expires < $1", cut},
		{"DELETE FROM refresh_tokens WHERE expires < $1", cut},
		{"DELETE FROM revoked_families WHERE until < $1", now},
		{"DELETE FROM oauth_states WHERE expires < $1", cut},
		{"DELETE FROM hub_keys WHERE retired_at < $1", now.Add(-KeyAcceptFor)},
		{"DELETE FROM mailbox WHERE expires <= $1", now},
	} {
		tag, err := s.pool.Exec(ctx, q.sql, q.at)
		if err != nil {
			return s.fail("cleanup", err)
		}
		removed += tag.RowsAffected()
	}
	if removed > 0 {
		s.logger.Debug("removed expired records", "count", removed)
	}
	return nil
}

// cleanupLoop runs Cleanup every interval until ctx ends (Close).
func (s *Store) cleanupLoop(ctx context.Context, every time.Duration) {
	defer s.janitor.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		runCtx, cancel := context.WithTimeout(ctx, every/2)
		if err := s.Cleanup(runCtx, time.Now()); err != nil && ctx.Err() == nil {
			s.logger.Warn("cleanup of expired records failed; trying again later", "error", err, "every", every)
		}
		cancel()
	}
}
