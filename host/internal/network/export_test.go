package network

// PruneStrangers prunes n's strangers now.
func PruneStrangers(n *Network) { n.pruneStrangers() }

// LinkCount is how many links n holds.
func LinkCount(n *Network) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.links)
}

// LinkGone returns a report of whether peer's link, as it is now, has been
// forgotten (its dialer ends); nil if peer has no link.
func LinkGone(n *Network, peer string) func() bool {
	n.mu.Lock()
	l := n.links[peer]
	n.mu.Unlock()
	if l == nil {
		return nil
	}
	return func() bool {
		select {
		case <-l.gone:
			return true
		default:
			return false
		}
	}
}
