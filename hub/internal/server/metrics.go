package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/turnserver"
)

// metrics are the hub's Prometheus series, on a registry of their own.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	logins       *prometheus.CounterVec
	refreshes    *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	connections  prometheus.Gauge
	relayed      prometheus.Counter
	relayFailed  *prometheus.CounterVec
	slowDropped  prometheus.Counter
	replacements prometheus.Counter
	// The mailbox's series count envelopes, never by node: no label names
	// a sender or a recipient.
	mailboxPuts    prometheus.Counter
	mailboxFull    prometheus.Counter
	mailboxFetches prometheus.Counter
	mailboxAcked   prometheus.Counter
}

// newMetrics makes the hub's series, with the TURN server's and the
// cluster's when it has them, and the envelopes held in st.
func newMetrics(turn *turnserver.Server, cluster Cluster, st store.Store) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dpc_hub_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dpc_hub_logins_total", Help: "Key logins by result (ok, refused, bad_nonce, error).",
		}, []string{"result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dpc_hub_refreshes_total", Help: "Refresh token rotations by result (ok, invalid, revoked, reused, error).",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dpc_hub_rate_limited_total", Help: "Requests and signals refused by a rate limit, by class.",
		}, []string{"class"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dpc_hub_signal_connections", Help: "Open signaling WebSocket connections.",
		}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_signals_relayed_total", Help: "Signals queued to their target.",
		}),
		relayFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dpc_hub_signals_failed_total", Help: "Signals not relayed, by reason.",
		}, []string{"reason"}),
		slowDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_slow_connections_dropped_total", Help: "Signaling connections closed because their send queue was full.",
		}),
		replacements: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_signal_connections_replaced_total", Help: "Signaling connections closed because the node connected again.",
		}),
		mailboxPuts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_mailbox_puts_total", Help: "Envelopes stored in mailboxes.",
		}),
		mailboxFull: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_mailbox_full_total", Help: "Envelopes refused because their recipient's mailbox was full.",
		}),
		mailboxFetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_mailbox_fetches_total", Help: "Mailbox fetches (GET /mailbox).",
		}),
		mailboxAcked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_mailbox_acks_total", Help: "Envelopes deleted by their recipient's acknowledgement.",
		}),
	}
	m.reg.MustRegister(m.requests, m.logins, m.refreshes, m.rateLimited, m.connections, m.relayed,
		m.relayFailed, m.slowDropped, m.replacements,
		m.mailboxPuts, m.mailboxFull, m.mailboxFetches, m.mailboxAcked, heldCollector{st},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if turn != nil {
		m.reg.MustRegister(turn.Collectors()...)
	}
	if cluster != nil {
		m.reg.MustRegister(cluster.Collectors()...)
	}
	return m
}

// heldTimeout bounds the store's count at a scrape: a database that does
// not answer costs the series, not the scrape.
const heldTimeout = 2 * time.Second

var heldDesc = prometheus.NewDesc("dpc_hub_mailbox_envelopes",
	"Envelopes held in mailboxes and not expired (with PostgreSQL: the whole cluster's).", nil, nil)

// heldCollector reads the envelopes held from the store at each scrape
// (the store is the only one that knows about expiry and other replicas).
type heldCollector struct{ st store.Store }

func (c heldCollector) Describe(ch chan<- *prometheus.Desc) { ch <- heldDesc }

func (c heldCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), heldTimeout)
	defer cancel()
	n, err := c.st.CountEnvelopes(ctx, time.Now())
	if err != nil {
		return // no sample: the store cannot say now
	}
	ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(n))
}
