// Package introductions is the web of trust of channels: a node vouches
// for another with a signed introduction (package chancrypt's format,
// proto/channels.md) and hands it to its contacts, and the firewall's
// built-in group "introduced" is every node that at least one current
// contact vouched for with an introduction that has not expired.
//
// Sending (`dpc introduce NODE_ID [--to CONTACT]...`): the node signs an
// introduction of NODE_ID, whose certificate it knows from a session (the
// live one, or the last dptp/1 one, which the peer record keeps), and sends
// it in an INTRODUCE (proto/dptp.md §12) to the contacts named, or to every
// contact. One that is not connected, or does not answer, gets it when it
// next connects (the queue is in the store); a refusal is logged and the
// introduction dropped for that contact.
//
// Receiving: an INTRODUCE is taken from a contact only. The introduction
// must be by the sender itself, verify with the key of the certificate the
// sender presented in its session (chancrypt Introduction.Verify: expired
// and future-dated ones are refused), and name the certificate sent with
// it (Introduction.VouchesFor: its key derives the subject's node_id and
// its DER hashes to the fingerprint). It replaces an older introduction of
// the same subject by the same voucher; an older one than the one held is
// refused. A refusal is an ERROR with the reason.
//
// The group is decided when the firewall asks (IsIntroduced), so removing
// the voucher as a contact, or the introduction expiring, takes the subject
// out at once; adding the voucher back makes its stored introductions count
// again. Whether introduced nodes may do anything is the firewall file's
// business: by default they may not (firewall.DefaultFile).
//
// Store keys (package store's key space):
//
//	intro/recv/<subject>/<voucher>  an introduction received (JSON: canonical bytes, certificate, time)
//	intro/sent/<subject>/<contact>  an introduction this node gave a contact (JSON: canonical bytes, time)
//	intro/queued/<contact>/<subject> one waiting for the contact to connect (JSON: bytes, certificate, time)
package introductions
