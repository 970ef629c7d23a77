package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgxlisten"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// Errors of the cluster operations.
var (
	// ErrOffline: no live replica holds a socket of the node.
	ErrOffline = errors.New("node is not connected to any replica of this hub")
	// ErrUnavailable: the database the replicas meet in cannot be reached.
	ErrUnavailable = store.ErrUnavailable
)

// Defaults of Config.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultReplicaTTL        = 10 * time.Second
	// DefaultOpTimeout bounds one cluster operation, so that a database that
	// hangs does not hang a socket's reader.
	DefaultOpTimeout = 5 * time.Second
	// forgetAfter: the rows of a replica silent for this long are removed
	// (its queued signals too); long enough that a replica cut off from the
	// database for a few heartbeats keeps its identity.
	forgetAfter = time.Minute
	// allChannel carries what every replica must hear (revocations).
	allChannel = "dpc_hub_all"
)

// Handler is what a replica does with what the others send it. The
// methods must not block: they run on the listener.
type Handler interface {
	// DeliverSignal queues a relayed signal (the hub's JSON message, its
	// sender stamped by the replica that took it) for the local socket of
	// target; false when there is none.
	DeliverSignal(target string, msg []byte) bool
	// CloseReplaced closes the local socket connID of nodeID: the node has
	// opened a newer one on another replica.
	CloseReplaced(nodeID, connID string)
	// Revoked ends the login family of nodeID here (or every login, for
	// the family the caller of Revoke chose to mean that): its socket and
	// relays.
	Revoked(nodeID, family string)
	// Connections is the number of local signaling sockets.
	Connections() int
}

// Config configures a Cluster.
type Config struct {
	Pool   *pgxpool.Pool
	Logger hclog.Logger
	// HeartbeatInterval is how often the replica says it is alive and reads
	// the others' figures (default 2 s).
	HeartbeatInterval time.Duration
	// ReplicaTTL is how long a replica counts as alive after its last
	// heartbeat (default 10 s).
	ReplicaTTL time.Duration
	// OpTimeout bounds one operation (default 5 s).
	OpTimeout time.Duration
}

// Cluster is this replica's membership of the cluster.
type Cluster struct {
	cfg     Config
	id      string
	channel string
	log     hclog.Logger
	m       *metrics

	handler Handler

	mu sync.Mutex
	// local is this replica's presence: node_id → connection id. It is the
	// truth the database copy is rewritten from after an outage.
	local map[string]string
	// dirty: the database copy of local may be stale (a write failed, the
	// listener reconnected): the next heartbeat rewrites it.
	dirty atomic.Bool

	listening atomic.Bool
	dbUp      atomic.Bool

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New registers a new replica in the database; Run starts it.
func New(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Pool == nil {
		return nil, errors.New("cluster: no database pool")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.ReplicaTTL <= 0 {
		cfg.ReplicaTTL = DefaultReplicaTTL
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = DefaultOpTimeout
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("cluster: replica id: %w", err)
	}
	id := hex.EncodeToString(b)
	c := &Cluster{cfg: cfg, id: id, channel: "dpc_hub_r_" + id, log: cfg.Logger, local: make(map[string]string)}
	c.m = newMetrics(c)
	if err := c.register(ctx); err != nil {
		return nil, err
	}
	c.dbUp.Store(true)
	return c, nil
}

// ID is this replica's id (random at every start).
func (c *Cluster) ID() string { return c.id }

func (c *Cluster) register(ctx context.Context) error {
	_, err := c.cfg.Pool.Exec(ctx, `INSERT INTO hub_replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`, c.id)
	if err != nil {
		return fmt.Errorf("%w: register replica %s: %w", ErrUnavailable, c.id, err)
	}
	return nil
}

// Run starts listening for the other replicas and the heartbeat; Close
// stops them.
func (c *Cluster) Run(h Handler) {
	c.handler = h
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	connCfg := c.cfg.Pool.Config().ConnConfig.Copy()
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, connCfg) },
		LogError: func(_ context.Context, err error) {
			if ctx.Err() != nil {
				return
			}
			if c.listening.Swap(false) {
				c.log.Warn("lost the database listener: signals from other replicas wait until it is back", "error", err)
			} else {
				c.log.Debug("database listener", "error", err)
			}
		},
		ReconnectDelay: c.cfg.HeartbeatInterval / 4,
	}
	l.Handle(c.channel, listenHandler{c: c, own: true})
	l.Handle(allChannel, listenHandler{c: c})
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		_ = l.Listen(ctx)
	}()
	go func() {
		defer c.wg.Done()
		c.heartbeatLoop(ctx)
	}()
}

// Close stops the replica and removes it from the cluster, so that the
// others stop counting its nodes at once.
func (c *Cluster) Close() error {
	if c.stop != nil {
		c.stop()
		c.wg.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.OpTimeout)
	defer cancel()
	if _, err := c.cfg.Pool.Exec(ctx, `DELETE FROM hub_replicas WHERE id = $1`, c.id); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// listenHandler handles the notifications of one channel.
type listenHandler struct {
	c   *Cluster
	own bool
}

// HandleBacklog runs at every (re)connection of the listener, once it
// listens: the signals queued meanwhile are delivered, and the presence is
// rewritten (what changed while the database was away).
func (h listenHandler) HandleBacklog(ctx context.Context, _ string, conn *pgx.Conn) error {
	if !h.own {
		return nil
	}
	if !h.c.listening.Swap(true) {
		h.c.log.Debug("listening to the other replicas", "channel", h.c.channel)
	}
	h.c.dirty.Store(true)
	return h.c.drain(ctx, conn)
}

func (h listenHandler) HandleNotification(ctx context.Context, n *pgconn.Notification, conn *pgx.Conn) error {
	return h.c.handle(ctx, n.Payload, conn)
}

// handle acts on one notification:
//
//	q                      signals wait in hub_signal_queue
//	k NODE CONN            close the local socket CONN of NODE (replaced)
//	r REPLICA NODE FAMILY  a login revoked on REPLICA
func (c *Cluster) handle(ctx context.Context, payload string, conn *pgx.Conn) error {
	kind, rest, _ := strings.Cut(payload, " ")
	switch kind {
	case "q":
		return c.drain(ctx, conn)
	case "k":
		node, connID, ok := strings.Cut(rest, " ")
		if !ok {
			return fmt.Errorf("malformed replace notification")
		}
		c.handler.CloseReplaced(node, connID)
	case "r":
		f := strings.Fields(rest)
		if len(f) != 3 {
			return fmt.Errorf("malformed revocation notification")
		}
		if f[0] != c.id { // this replica revoked it already
			c.m.revocations.Inc()
			c.handler.Revoked(f[1], f[2])
		}
	default:
		return fmt.Errorf("unknown notification %q", kind)
	}
	return nil
}

// drain takes every signal queued for this replica and delivers them in
// the order they were relayed. One drain takes what several notifications
// announced; the next finds nothing.
func (c *Cluster) drain(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	rows, err := conn.Query(ctx, `WITH taken AS (DELETE FROM hub_signal_queue WHERE replica_id = $1 RETURNING id, target, payload)
		SELECT target, payload FROM taken ORDER BY id`, c.id)
	if err != nil {
		return fmt.Errorf("take queued signals: %w", err)
	}
	var target, msg string
	_, err = pgx.ForEachRow(rows, []any{&target, &msg}, func() error {
		c.m.received.Inc()
		if !c.handler.DeliverSignal(target, []byte(msg)) {
			c.m.undelivered.Inc()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("take queued signals: %w", err)
	}
	return nil
}

func (c *Cluster) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.OpTimeout)
}

// unavailable marks an error of the database as the cluster's.
func (c *Cluster) unavailable(op string, err error) error {
	c.m.errors.WithLabelValues(op).Inc()
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// live is the SQL condition, on replica row r, that its heartbeat is
// recent; param names the query parameter holding the TTL in seconds. The
// database's clock is the only one compared.
func live(param string) string {
	return `r.heartbeat_at > now() - make_interval(secs => ` + param + `)`
}

// liveSQL is live for the queries whose $3 is the TTL.
var liveSQL = live("$3")

// Join records that nodeID's socket connID is on this replica, and tells
// the replica holding an older socket of the node to close it. A failure
// is returned but the replica remembers the socket all the same and
// records it when the database is back.
func (c *Cluster) Join(ctx context.Context, nodeID, connID string) error {
	c.mu.Lock()
	c.local[nodeID] = connID
	c.mu.Unlock()
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, c.cfg.Pool, func(tx pgx.Tx) error {
		var oldReplica, oldConn string
		err := tx.QueryRow(ctx, `SELECT replica_id, conn_id FROM hub_presence WHERE node_id = $1 FOR UPDATE`, nodeID).Scan(&oldReplica, &oldConn)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hub_presence (node_id, replica_id, conn_id) VALUES ($1, $2, $3)
			ON CONFLICT (node_id) DO UPDATE SET replica_id = EXCLUDED.replica_id, conn_id = EXCLUDED.conn_id, since = now()`,
			nodeID, c.id, connID); err != nil {
			return err
		}
		if oldReplica != "" && oldReplica != c.id {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, "dpc_hub_r_"+oldReplica, "k "+nodeID+" "+oldConn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.dirty.Store(true)
		return c.unavailable("join", err)
	}
	return nil
}

// Leave records that the socket connID of nodeID is gone (unless a newer
// one took its place).
func (c *Cluster) Leave(ctx context.Context, nodeID, connID string) error {
	c.mu.Lock()
	if c.local[nodeID] == connID {
		delete(c.local, nodeID)
	}
	c.mu.Unlock()
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	if _, err := c.cfg.Pool.Exec(ctx, `DELETE FROM hub_presence WHERE node_id = $1 AND conn_id = $2 AND replica_id = $3`, nodeID, connID, c.id); err != nil {
		c.dirty.Store(true)
		return c.unavailable("leave", err)
	}
	return nil
}

// Relay sends a signal (the hub's JSON message for target, its sender
// stamped) to the replica holding target's socket, in one statement: the
// signal is queued for that replica, and a notification wakes it. Queued,
// not carried in the notification, so that a replica whose listener was
// reconnecting finds it when it listens again. ErrOffline when no other
// live replica holds target.
func (c *Cluster) Relay(ctx context.Context, target string, msg []byte) error {
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	tag, err := c.cfg.Pool.Exec(ctx, `WITH dest AS (
			SELECT p.replica_id FROM hub_presence p JOIN hub_replicas r ON r.id = p.replica_id
			WHERE p.node_id = $1 AND p.replica_id <> $4 AND `+liveSQL+`
		), q AS (
			INSERT INTO hub_signal_queue (replica_id, target, payload) SELECT replica_id, $1, $2 FROM dest RETURNING replica_id
		)
		SELECT pg_notify('dpc_hub_r_' || q.replica_id, 'q') FROM q`, target, string(msg), c.cfg.ReplicaTTL.Seconds(), c.id)
	if err != nil {
		return c.unavailable("relay", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrOffline
	}
	c.m.forwarded.Inc()
	return nil
}

// Online returns which of nodeIDs hold a socket on a live replica other
// than this one (the caller knows its own).
func (c *Cluster) Online(ctx context.Context, nodeIDs []string) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(nodeIDs) == 0 {
		return out, nil
	}
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	rows, err := c.cfg.Pool.Query(ctx, `SELECT p.node_id FROM hub_presence p JOIN hub_replicas r ON r.id = p.replica_id
		WHERE p.node_id = ANY($1) AND p.replica_id <> $2 AND `+liveSQL, nodeIDs, c.id, c.cfg.ReplicaTTL.Seconds())
	if err != nil {
		return nil, c.unavailable("presence", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, c.unavailable("presence", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Revoke tells every other replica that the login family of nodeID is
// revoked (the caller has ended it here).
func (c *Cluster) Revoke(ctx context.Context, nodeID, family string) error {
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	if _, err := c.cfg.Pool.Exec(ctx, `SELECT pg_notify($1, $2)`, allChannel, "r "+c.id+" "+nodeID+" "+family); err != nil {
		return c.unavailable("revoke", err)
	}
	return nil
}

func (c *Cluster) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		c.heartbeat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// heartbeat says this replica is alive, rewrites its presence when it may
// be stale, reads the cluster's figures and forgets dead replicas.
func (c *Cluster) heartbeat(ctx context.Context) {
	ctx, cancel := c.opCtx(ctx)
	defer cancel()
	err := c.beat(ctx)
	if err != nil {
		if ctx.Err() == nil && c.dbUp.Swap(false) {
			c.log.Error("the database is unreachable: signals to other replicas fail until it is back", "error", err)
		}
		c.m.errors.WithLabelValues("heartbeat").Inc()
		return
	}
	if !c.dbUp.Swap(true) {
		c.log.Info("the database is reachable again")
	}
}

func (c *Cluster) beat(ctx context.Context) error {
	conns := c.handler.Connections()
	tag, err := c.cfg.Pool.Exec(ctx, `UPDATE hub_replicas SET heartbeat_at = now(), connections = $2 WHERE id = $1`, c.id, conns)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		// Silent long enough to be forgotten: join again, with everything.
		c.log.Warn("this replica was forgotten by the cluster after a long silence; joining again")
		if err := c.register(ctx); err != nil {
			return err
		}
		c.dirty.Store(true)
	}
	if c.dirty.Swap(false) {
		if err := c.resync(ctx); err != nil {
			c.dirty.Store(true)
			return err
		}
	}
	if err := c.readFigures(ctx); err != nil {
		return err
	}
	_, err = c.cfg.Pool.Exec(ctx, `WITH gone AS (DELETE FROM hub_replicas WHERE heartbeat_at < now() - make_interval(secs => $1))
		DELETE FROM hub_signal_queue WHERE created_at < now() - make_interval(secs => $1)`, forgetAfter.Seconds())
	return err
}

// resync rewrites this replica's presence from its own sockets. A node
// that meanwhile opened a socket on another live replica keeps that one:
// the local socket is closed as replaced.
func (c *Cluster) resync(ctx context.Context) error {
	c.mu.Lock()
	local := make(map[string]string, len(c.local))
	for n, id := range c.local {
		local[n] = id
	}
	c.mu.Unlock()
	var lost []string
	err := pgx.BeginFunc(ctx, c.cfg.Pool, func(tx pgx.Tx) error {
		lost = lost[:0]
		if _, err := tx.Exec(ctx, `DELETE FROM hub_presence WHERE replica_id = $1`, c.id); err != nil {
			return err
		}
		for node, connID := range local {
			tag, err := tx.Exec(ctx, `INSERT INTO hub_presence (node_id, replica_id, conn_id) VALUES ($1, $2, $3)
				ON CONFLICT (node_id) DO UPDATE SET replica_id = EXCLUDED.replica_id, conn_id = EXCLUDED.conn_id, since = now()
				WHERE NOT EXISTS (SELECT 1 FROM hub_replicas r WHERE r.id = hub_presence.replica_id AND `+
				live("$4")+`)`, node, c.id, connID, c.cfg.ReplicaTTL.Seconds())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				lost = append(lost, node)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, node := range lost {
		c.handler.CloseReplaced(node, local[node])
	}
	c.log.Debug("presence rewritten", "nodes", len(local), "held_elsewhere", len(lost))
	return nil
}

// replicaFigures is one live replica as its last heartbeat described it.
type replicaFigures struct {
	id          string
	connections int
}

func (c *Cluster) readFigures(ctx context.Context) error {
	rows, err := c.cfg.Pool.Query(ctx, `SELECT r.id, r.connections FROM hub_replicas r WHERE `+
		live("$1")+` ORDER BY r.id`, c.cfg.ReplicaTTL.Seconds())
	if err != nil {
		return err
	}
	figs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (replicaFigures, error) {
		var f replicaFigures
		err := row.Scan(&f.id, &f.connections)
		return f, err
	})
	if err != nil {
		return err
	}
	c.m.setReplicas(figs)
	return nil
}

// Up reports whether the replica reaches the database and hears the others.
func (c *Cluster) Up() (database, listening bool) { return c.dbUp.Load(), c.listening.Load() }

// Replicas returns the number of live replicas at the last heartbeat.
func (c *Cluster) Replicas() int { return c.m.replicaCount() }
