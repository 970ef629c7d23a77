// Package chanop is the operation of a multi-user channel: its types, the
// canonical binary encoding of header and bodies with strict decoders, the
// op id, the header digest the inner AEAD layer binds, and the
// domain-separated signature by the author's node key.
//
// Everything here is pure (no I/O, no clock reads, no crypto beyond SHA-256
// and signatures): every member must decode, hash and verify the same bytes
// the same way forever. The byte layouts, limits and rules are written down
// in proto/channels.md; this package is their reference implementation.
//
// Encode(Decode(b)) == b for every b that Decode accepts: an op has exactly
// one encoding, so an op id names one op and a re-encoded op is visible as
// such (an equivocation, refused by the log in chanstate).
//
// Sealed texts and wrapped keys are opaque bytes here (bounded in length);
// sealing and wrapping belong to chancrypt.
package chanop
