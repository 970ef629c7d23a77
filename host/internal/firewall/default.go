package firewall

// DefaultFile is the firewall.hcl `dpc init` writes: contacts may send
// messages and files, sync chat history, invite the user to channels and
// leave sealed envelopes at the hub;
// nodes a contact introduced may not invite until the user uncomments the
// rule for "introduced"; nothing else is shared.
const DefaultFile = `# firewall.hcl: what other nodes may do with yours.
#
# Everything that is not allowed here is DENIED. Peers are known by their
# node_id ("dpc-node-" + 32 hex characters), which they prove with their
# certificate. Changes to this file apply at once; if the file has an error,
# the previous rules stay in force and the error is logged.
#
# GROUPS
#   "contacts" is built in: every peer you added or accepted.
#   "introduced" is built in: every node that one of your contacts vouched
#   for (dpc introduce) with an introduction that has not expired; it stops
#   counting when you remove that contact. Declare your own groups of
#   node_ids:
#
#     group "friends" {
#       members = ["dpc-node-0123456789abcdef0123456789abcdef"]
#     }
#
# RULES, for a group, for one node or for an AI scope, each list optional:
#
#     rule "group" "friends" {
#       allow = ["resource", ...]
#       deny  = ["resource", ...]
#     }
#     rule "node" "dpc-node-0123456789abcdef0123456789abcdef" {
#       allow = ["resource", ...]
#     }
#
#   A "scope" rule is not about other nodes: it selects what of your own
#   context goes into the prompts of your own AI (dpc ask --scope NAME); it
#   takes only "context:<path>" patterns.
#
# RESOURCES
#   "messages"         send you messages
#   "files"            send you files (limits: see the files block below)
#   "history"          ask for the chat history you share with them
#   "compute"          run prompts on your AI models, together with:
#   "model:<name>"     use that model, e.g. "model:llama3", "model:llama3*"
#   "channel_invites"  invite you to channels
#   "mailbox"          leave sealed envelopes for you at your hub while you
#                      are offline (channel updates); what is inside still
#                      needs its own right (a channel membership, an invite)
#   "context:<path>"   read that part of your personal context (personal.json),
#                      e.g. "context:profile.name", "context:knowledge.cooking.*",
#                      "context:*" (all of it). A rule on a path covers
#                      everything below it.
#   In patterns, "*" matches any characters (dots included), "?" one character.
#
# WHICH RULE WINS
#   - Within a rule block, the most specific matching pattern (the one with
#     the most characters that are not "*" or "?"; "x.*" counts as "x");
#     deny wins a tie.
#   - A node's own rule block decides if one of its patterns matches.
#   - Otherwise all the groups the node is in are asked: if any denies, the
#     answer is deny; else if any allows, allow.
#   - If nothing matches: deny.

rule "group" "contacts" {
  allow = ["messages", "files", "history", "channel_invites", "mailbox"]

  # Optional limits on the files they may send:
  # files {
  #   max_size_mb   = 2000                           # refuse larger files; 0 = unlimited (the default)
  #   ask_above_mb  = 100                            # larger ones wait for dpc transfers accept ID; 0 = never (default 100)
  #   allowed_types = ["image/*", "application/pdf"] # default ["*"]: any type
  # }
}

# Let nodes your contacts vouched for invite you to channels too (by
# default only your contacts may):
#
# rule "group" "introduced" {
#   allow = ["channel_invites"]
# }

# What of your own context your AI sees when you ask (dpc ask). "default" is
# used unless you pick another with --scope.
rule "scope" "default" {
  allow = ["context:*"]
}

# rule "scope" "work" {
#   allow = ["context:profile.name", "context:knowledge.professional_skills"]
# }

# Example: let friends see your name and your cooking notes, but never your
# e-mail address, and run prompts on your llama3 models.
#
# group "friends" {
#   members = ["dpc-node-0123456789abcdef0123456789abcdef"]
# }
#
# rule "group" "friends" {
#   allow = ["context:profile.name", "context:knowledge.cooking.*", "compute", "model:llama3*"]
#   deny  = ["context:profile.email"]
# }
`
