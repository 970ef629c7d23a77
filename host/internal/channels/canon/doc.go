// Package canon reads and writes the strict canonical binary encoding the
// channel formats share (proto/channels.md §2–4 and §11, introductions):
// fixed-size fields, big-endian integers, minimal uvarints (Go's
// encoding/binary varint without trailing 0x80…0x00 padding) and byte
// strings prefixed with their uvarint length, bounded by a limit, with
// nothing after the last field. Each value has exactly one encoding, so a
// decoder built on [Reader] and re-encoded with the Append helpers gives the
// bytes back (callers fuzz that).
//
// A Reader keeps the first problem and reads nothing after it, so a
// decoder reads every field and checks [Reader.End] once. Its own errors
// wrap this package's sentinels and then go through the caller's wrap
// function, so each format keeps its own sentinel errors (chanop's
// ErrMalformed and ErrTooLarge, chancrypt's ErrBadIntroduction) with
// canon's beneath them.
package canon
