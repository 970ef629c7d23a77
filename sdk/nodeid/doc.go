// Package nodeid derives a D-PC node_id from a node's public key and checks
// the domain-separated signatures a node key makes. It is shared by the host
// (which owns the key), by plugins and by the hub (which only ever verify),
// so that every side computes exactly the same bytes.
//
// node_id = "dpc-node-" + the first 32 hex characters of SHA-256 over the PEM
// text of the SubjectPublicKeyInfo, exactly as
// `openssl x509 -pubkey -noout -in node.crt` prints it (D-PC Messenger's
// derivation). Ed25519 keys and RSA keys of 2048 to 4096 bits are supported.
//
// A domain-separated signature is made over
//
//	"dpc-plugin-signature/v1\x00" + purpose + "\x00" + data
//
// with plain Ed25519 ("ed25519") or RSA-PSS, SHA-256, salt length = hash
// length ("rsa-pss-sha256").
package nodeid
