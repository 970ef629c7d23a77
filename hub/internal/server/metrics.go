package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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
}

// newMetrics makes the hub's series, with the TURN server's and the
// cluster's when it has them.
func newMetrics(turn *turnserver.Server, cluster Cluster) *metrics {
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
	}
	m.reg.MustRegister(m.requests, m.logins, m.refreshes, m.rateLimited, m.connections, m.relayed,
		m.relayFailed, m.slowDropped, m.replacements,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if turn != nil {
		m.reg.MustRegister(turn.Collectors()...)
	}
	if cluster != nil {
		m.reg.MustRegister(cluster.Collectors()...)
	}
	return m
}
