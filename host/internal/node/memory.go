package node

import (
	"os"
	"runtime/debug"
)

// DefaultMemoryLimit is the Go runtime's soft memory limit in a running
// node (runtime/debug.SetMemoryLimit) when GOMEMLIMIT does not set one.
// Without it the runtime keeps the heap it grew for a burst (a channel's
// history arriving, a sync after a partition) long after: a node that had
// received 100k channel messages held 100 MiB of heap for 36–56 MiB in
// use. With it the runtime returns memory above the limit to the system.
// It is soft: a node that really needs more gets it, and the runtime caps
// the extra GC work; GOMEMLIMIT=200MiB (or off) changes it.
const DefaultMemoryLimit = 64 << 20

// LimitMemory applies DefaultMemoryLimit unless the GOMEMLIMIT environment
// variable is set (the runtime has applied that one already).
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}
