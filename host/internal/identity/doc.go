// Package identity owns the node identity of a D-PC host: the node key, its
// self-signed certificate, the node_id derived from the public key, the
// X25519 envelope key bound to the identity. dpc:// URIs are in the SDK (sdk/dpcuri), shared with transport plugins.
//
// # Files
//
// The identity lives in one directory (normally $DPC_HOME/identity):
//
//	node.key      node private key, PKCS#8 PEM, mode 0600 (Ed25519 by default, RSA-2048 optionally)
//	node.crt      self-signed X.509 certificate, CN = node_id, 10 years, CA=true, mode 0644
//	envelope.key  X25519 private key for sealed envelopes, PKCS#8 PEM, mode 0600
//	envelope.sig  raw signature by the node key binding the X25519 public key to the node_id, mode 0644
//
// [Create] writes every file atomically (temporary file, fsync, rename, fsync
// of the directory) and writes node.key last, so a crash never leaves a
// half-written key and an existing node.key means a complete identity.
// [Load] never creates anything: a missing or damaged identity is an error,
// because a new key would be a new identity that no peer knows.
//
// # node_id
//
// node_id = "dpc-node-" + the first 32 hex characters of SHA-256 over the PEM
// text of the SubjectPublicKeyInfo, exactly as
// `openssl x509 -pubkey -noout -in node.crt` prints it. This is D-PC
// Messenger's derivation and works for Ed25519 and RSA keys alike. The code
// is sdk/nodeid, shared with plugins and the hub, so all derive it alike.
//
// # Signatures
//
// Private keys never leave the host. Everything else (plugins, hubs) can only
// obtain domain-separated signatures from [Identity.SignDomain], over
//
//	"dpc-plugin-signature/v1\x00" + purpose + "\x00" + data
//
// and the envelope binding is a signature over
//
//	"dpc-envelope-key/v1\x00" + node_id + "\x00" + X25519 public key (32 bytes)
//
// Ed25519 keys sign with plain Ed25519 ("ed25519"); RSA keys sign with
// RSA-PSS, SHA-256, salt length = hash length ("rsa-pss-sha256"). Because the
// context strings differ, a signature made for one purpose never verifies for
// another, nor as an envelope binding.
//
// # Fingerprint
//
// [Identity.Fingerprint] is a safety number for out-of-band comparison: 12
// groups of 5 decimal digits derived from SHA-512 over
// "dpc-fingerprint/v1\x00" + the SubjectPublicKeyInfo DER.
package identity
