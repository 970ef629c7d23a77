// Package filewatch follows one file that people edit by hand, such as
// $DPC_HOME/firewall.hcl or $DPC_HOME/personal.json, and hands each new
// version of it to the caller once it has settled.
//
// A program that writes such a file itself uses [WriteFile], which replaces
// it atomically, so that Watch and editors never see it half written.
//
// Read the file with [Read] when loading it, then run [Watch] in its own
// goroutine with that [Snapshot] as [Options.Initial]; Watch calls apply
// with every later version until its context is done.
//
// # What "settled" means
//
// Editors save in several writes, or write a temporary file and rename it
// over the original, so a file read at the wrong moment is half written.
// Watch waits until 100ms passed without a write to the file and then
// needs two reads 100ms apart to agree before it calls apply; a file that
// keeps changing is applied once it stops. Versions are told apart by the
// SHA-256 of their content, so touching a file or rewriting it unchanged
// calls nothing.
//
// Watch uses file system notifications on the file's directory, which see
// a file that is replaced, removed and created again. It also re-reads the
// file every 30 seconds for what notifications cannot see, such as a
// symlinked file edited in place or events lost to an overflow. Where
// notifications are not available (no inotify, the directory does not
// exist yet) it polls the file every second instead.
package filewatch
