// Package dpcuri parses and formats D-PC node addresses,
// dpc://host:port?node_id=dpc-node-<32 hex>, for the host and for transport
// plugins alike. The node_id in a URI is what the dialed peer must prove with
// its key; the host checks that, never the transport.
package dpcuri
