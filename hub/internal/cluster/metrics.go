package cluster

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the replica's own series and the cluster's, read from the
// replicas' heartbeats. Replica labels are replica ids: as many as there
// are replicas, never a node.
type metrics struct {
	c *Cluster

	forwarded   prometheus.Counter
	received    prometheus.Counter
	undelivered prometheus.Counter
	revocations prometheus.Counter
	errors      *prometheus.CounterVec

	mu       sync.Mutex
	replicas []replicaFigures

	descReplicas, descConns, descReplicaConns, descUp, descListening, descInfo *prometheus.Desc
}

func newMetrics(c *Cluster) *metrics {
	return &metrics{
		c: c,
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_cluster_signals_forwarded_total", Help: "Signals this replica relayed to a node on another replica.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_cluster_signals_received_total", Help: "Signals other replicas relayed to this one's nodes.",
		}),
		undelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_cluster_signals_undelivered_total", Help: "Signals from other replicas whose target had left this one.",
		}),
		revocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dpc_hub_cluster_revocations_received_total", Help: "Logouts on other replicas applied to this one.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dpc_hub_cluster_errors_total", Help: "Cluster operations that failed on the database, by operation.",
		}, []string{"op"}),
		descReplicas: prometheus.NewDesc("dpc_hub_cluster_replicas",
			"Live replicas of the cluster at this replica's last heartbeat.", nil, nil),
		descConns: prometheus.NewDesc("dpc_hub_cluster_signal_connections",
			"Signaling connections held by all live replicas together, as of their last heartbeats.", nil, nil),
		descReplicaConns: prometheus.NewDesc("dpc_hub_cluster_replica_signal_connections",
			"Signaling connections of each live replica, as of its last heartbeat.", []string{"replica"}, nil),
		descUp: prometheus.NewDesc("dpc_hub_cluster_database_up",
			"1 when this replica's last heartbeat reached the database.", nil, nil),
		descListening: prometheus.NewDesc("dpc_hub_cluster_listening",
			"1 when this replica hears the other replicas (its LISTEN connection is up).", nil, nil),
		descInfo: prometheus.NewDesc("dpc_hub_replica_info",
			"This replica's id (random at every start), to tell the replicas' series apart.", []string{"replica"}, nil),
	}
}

func (m *metrics) setReplicas(figs []replicaFigures) {
	m.mu.Lock()
	m.replicas = figs
	m.mu.Unlock()
}

func (m *metrics) replicaCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.replicas)
}

// Describe and Collect make the heartbeat figures a collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.descReplicas, m.descConns, m.descReplicaConns, m.descUp, m.descListening, m.descInfo} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	figs := m.replicas
	m.mu.Unlock()
	total := 0
	for _, f := range figs {
		total += f.connections
		ch <- prometheus.MustNewConstMetric(m.descReplicaConns, prometheus.GaugeValue, float64(f.connections), f.id)
	}
	ch <- prometheus.MustNewConstMetric(m.descReplicas, prometheus.GaugeValue, float64(len(figs)))
	ch <- prometheus.MustNewConstMetric(m.descConns, prometheus.GaugeValue, float64(total))
	db, listening := m.c.Up()
	ch <- prometheus.MustNewConstMetric(m.descUp, prometheus.GaugeValue, b2f(db))
	ch <- prometheus.MustNewConstMetric(m.descListening, prometheus.GaugeValue, b2f(listening))
	ch <- prometheus.MustNewConstMetric(m.descInfo, prometheus.GaugeValue, 1, m.c.id)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collectors returns the cluster's series for the hub's registry.
func (c *Cluster) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.m, c.m.forwarded, c.m.received, c.m.undelivered, c.m.revocations, c.m.errors}
}
