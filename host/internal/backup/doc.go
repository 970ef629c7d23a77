// Package backup makes and restores encrypted backups of a node.
//
// A backup is ONE object, stored through the node's backup plugin, that the
// plugin only ever sees as ciphertext (DESIGN.md §3). Its bytes are, from the
// outside in:
//
//   - age (filippo.io/age) encrypted to a passphrase (scrypt recipient; the
//     passphrase must have at least MinPassphrase characters). age
//     authenticates every 64 KiB chunk and the end of the stream, so a wrong
//     passphrase, a flipped bit or a cut-off object is an error, never
//     garbage;
//   - gzip;
//   - a tar stream of regular files whose names the format fixes (see
//     members): the identity key files, dpc.hcl, dpc.lock.hcl, firewall.hcl,
//     personal.json, the store snapshot as numbered chunks store.000000,
//     store.000001, … (a badger DB.Backup at one read version, cut in chunks
//     so that each tar header can carry its size without holding the whole
//     snapshot in memory or in a temporary file), and last manifest.json.
//
// The manifest (format version, node_id, creation time, dpc version, and each
// member's name, size and sha256) comes last because the snapshot's hashes
// are known only once it is written. A reader hashes each member as it
// reads it and compares the lot to the manifest at the end.
//
// Unlike D-PC Messenger's backups (dpc-messenger-facts.md §9) the key is
// derived with scrypt, not PBKDF2; only the files above are included, never
// logs, api.token, sockets or received files; and a restore accepts only the
// member names the format defines (no paths, no links, no ../), writes into
// a temporary directory beside the target and renames it into place only
// once every member matched the manifest, so a wrong passphrase or a
// tampered object leaves nothing behind.
package backup
