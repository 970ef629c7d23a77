// Package files keeps file transfers durable: one record per transfer in the
// store (xfer/<transfer id>), incoming bytes in a partial file next to their
// destination ($DPC_HOME/files/<peer node_id>/.partial-<transfer id>), so a
// transfer cut by a dropped connection or a restart resumes where it stopped,
// and a finished file appears under its own name only once its SHA-256 has
// been verified.
package files
