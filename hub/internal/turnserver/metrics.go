package turnserver

import "github.com/prometheus/client_golang/prometheus"

// metrics are the TURN server's series; none has a node label.
type metrics struct {
	relayed       prometheus.Counter
	allocations   prometheus.Gauge
	quotaExceeded prometheus.Counter
	authFailures  prometheus.Counter
}

func newMetrics() metrics {
	return metrics{
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_turn_relayed_bytes_total", Help: "Bytes relayed by the TURN server, both directions (payloads at the relay sockets).",
		}),
		allocations: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dpc_hub_turn_allocations", Help: "Open TURN relay allocations.",
		}),
		quotaExceeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_turn_quota_exceeded_total", Help: "Times a node passed its daily relay quota and its relays were closed.",
		}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_turn_auth_failures_total", Help: "TURN requests refused for their credentials (malformed, expired, revoked, wrong password).",
		}),
	}
}

func (m metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.relayed, m.allocations, m.quotaExceeded, m.authFailures}
}
