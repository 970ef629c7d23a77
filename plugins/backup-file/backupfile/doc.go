// Package backupfile is a D-PC backup plugin that stores opaque objects as
// files under one directory. Start with Plugin (the sdk.Backup
// implementation) and Config (its `config {}` block).
//
// The host encrypts before it stores, so this plugin only ever sees
// ciphertext and keys chosen by the host; it never sees the node key or any
// plaintext.
//
// # On-disk layout
//
// The object with key "2026/11/node.bak" is the file <dir>/2026/11/node.bak,
// byte for byte, so a backup directory can be copied or synced with ordinary
// tools. Next to each object is a small sidecar, .dpc-sha256.<name>, that
// caches the object's SHA-256 together with the size and modification time
// it was computed for. The sidecar is only trusted while size and mtime still
// match the object; otherwise the digest is recomputed from the object and
// the sidecar rewritten. Temporary files are named .dpc-tmp-*. Key segments
// starting with ".dpc-" are reserved for these files.
//
// # Atomicity
//
// Put streams into a temporary file in the object's own directory, hashing
// as it writes, fsyncs it, renames it over the key and fsyncs the directory.
// Readers therefore see either the old object or the new one, never a part;
// a Put that fails or is cancelled removes its temporary file, and one cut
// short by a crash leaves only a .dpc-tmp-* file that List ignores and the
// next Configure sweeps away.
package backupfile
