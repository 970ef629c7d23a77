// Package turnserver is dpc-hub's embedded TURN server (pion/turn): a relay
// for nodes whose direct ICE paths fail.
//
// Credentials follow the "TURN REST API" convention (RFC 8489 long-term
// credentials, time-limited): username = "<expiry unix>:<node_id>",
// password = base64(HMAC-SHA1(secret, username)). Only the hub holds the
// secret, so a credential cannot be made or altered without it: the TURN
// server recomputes the password from the username and refuses expired
// ones, and ones a node had before it logged out.
//
// Every relay socket counts the bytes it relays, both ways, for the node
// that owns the allocation. A node over its daily quota has its relays
// closed and new allocations refused (486 Allocation Quota Reached) until
// the next UTC day. Metrics carry no node label: one series per node would
// grow without bound.
package turnserver
