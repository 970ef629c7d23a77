// Package peers keeps what this node knows about other nodes: display name,
// the dpc:// addresses they were last reached at (the address cache), and
// whether they are contacts (added or accepted by the user) or strangers
// waiting as contact requests. Records live in the store under
// peer/<node_id>; the contact set is also kept in memory because the
// firewall asks for it on every decision.
package peers
