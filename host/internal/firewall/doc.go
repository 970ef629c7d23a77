// Package firewall decides what a peer may do with this node: the
// deny-by-default rules in $DPC_HOME/firewall.hcl.
//
// Start with [Load], which reads the file into an [Engine]; run
// [Engine.Watch] in a goroutine to pick up edits, and ask [Engine.Check]
// whether a node may use a resource. The node must be a node_id the host has
// verified cryptographically (the peer's TLS certificate); the firewall never
// sees anything else. [Parse] turns a file into immutable [Rules], and
// [DefaultFile] is what `dpc init` writes.
//
// # The file
//
//	group "friends" {
//	  members = ["dpc-node-0123456789abcdef0123456789abcdef"]
//	}
//	rule "group" "contacts" { allow = ["messages", "files", "history", "channel_invites", "mailbox"] }
//	rule "group" "introduced" { allow = ["channel_invites"] }
//	rule "group" "friends" {
//	  allow = ["context:profile.name", "context:knowledge.cooking.*"]
//	  deny  = ["context:profile.email"]
//	  files {
//	    max_size_mb   = 100 // refuse larger files (default 0: no limit)
//	    ask_above_mb  = 10  // larger ones wait for the user (default 100; 0: never)
//	    allowed_types = ["image/*"]
//	  }
//	}
//	rule "node" "dpc-node-0123456789abcdef0123456789abcdef" { allow = ["compute", "model:llama3*"] }
//
// "contacts" is a built-in group: every peer the user added or accepted, as
// the host's [ContactSet] says. "introduced" is the other built-in group:
// every node that at least one current contact vouched for with a signed,
// unexpired introduction (package introductions), as the [IntroducedSet]
// given to [Engine.SetIntroduced] says; it is asked at each decision, so
// removing the voucher as a contact or the introduction expiring takes the
// node out at once. [DefaultFile] lets contacts invite the user to channels
// ("channel_invites") and leaves the rule for "introduced" commented out:
// a vouch is a reason to hear a stranger, which the user opts into.
// Resources are "messages", "files", "history",
// "compute", "channel_invites", "mailbox", "model:<name>" and "context:<path>", where
// <path> is a dotted path into the personal context.
//
// # Matching
//
// A pattern matches a resource when it is equal to it or glob-matches the
// whole string, where "*" matches any run of characters, dots included, and
// "?" exactly one character; nothing is escaped. For context resources a
// pattern also covers everything below what it matches: "context:profile"
// (and "context:profile.*", which means the same) allows
// "context:profile.name" and the request for "context:profile" as a whole.
// A rule on a child never grants its parent: with only
// "context:profile.name" allowed, "context:profile" is denied, and
// [Rules.Filter] is how a caller shares the allowed part of a document; it
// never shares a key that holds a dot, since its path would read as a
// deeper one.
//
// Within one rule block the matching pattern with the most literal (non-glob)
// characters wins, where a trailing ".*" counts for nothing because "x.*"
// covers exactly what "x" covers; on a tie deny wins. Across blocks, a node's
// own rule block decides if one of its patterns matches. Otherwise every
// group the node is in is asked: one group whose best match is a deny is
// enough to deny, else one that allows is enough to allow. When nothing
// matches, the answer is deny.
//
// This fixes three bugs of the Python D-PC firewall: there, "profile.*" did not
// grant "profile", a rule on a path did not apply below it, and only the
// top-level fields of the context could be shared or withheld.
//
// Every problem found in a file is reported as an [*config.Error] with one
// `file:line:column: summary: detail` line per problem; use errors.Is with
// the sentinels in errors.go to tell kinds of errors apart.
package firewall
