package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// defaultFile is the dpc.hcl template; %s is the quoted node name.
const defaultFile = `# dpc.hcl: configuration of this D-PC node, written by ` + "`dpc init`" + `.
#
# Settings are layered: built-in defaults, then this file, then the
# environment (DPC_NODE_NAME, DPC_NODE_LISTEN, DPC_API_LISTEN), then flags.
# Expressions may use ${home} (the DPC_HOME directory) and env("NAME") to read
# an environment variable, e.g. api_key = env("OPENAI_API_KEY").

node {
  # name is shown to peers; your identity is the node key, not this name.
  name = %s
  # listen lists the host:port addresses peers connect to (default port 8888).
  listen = ["0.0.0.0:8888", "[::]:8888"]
  # dpc_v1 = true lets D-PC Messenger (Python) nodes talk to this one through
  # their own handshake, which authenticates less strongly than dptp/1 (dpc
  # peers marks them). It needs an RSA identity (dpc init --key rsa); this
  # node dials v1 only to peers added with dpc connect --v1.
  dpc_v1 = false
}

api {
  # The local API and web UI. It must be a loopback address (127.0.0.0/8 or
  # [::1]): it is for this machine only.
  listen = "127.0.0.1:9999"
}

# plugin "<kind>" "<name>" enables the plugin binary dpc-plugin-<name>.
# Kinds are transport, llm, backup and hub; names are unique across kinds.
# A plugin runs only once it is pinned by sha256 in dpc.lock.hcl: run
# ` + "`dpc plugin lock`" + ` after adding or upgrading one.
# Plugin-specific options go in its config {} block; the plugin declares
# which options exist and dpc checks them before starting it.
# Set enabled = false to keep a block without running the plugin.

# Direct TCP connections to and from peers, on node.listen. The transport only
# moves bytes: dpc runs mutual TLS over it and checks every peer's node_id.
plugin "transport" "transport-direct" {
  enabled = true
}

# WebRTC reaches peers behind NATs by node_id alone (dpc connect NODE_ID),
# set up through the hub below; dpc still runs its own mutual TLS inside, so
# the hub cannot sit in the middle. Direct addresses are tried first.
# plugin "transport" "transport-webrtc" {}

# Answers questions (dpc ask) by retrieval from the context you and your
# peers share: no model needed. The first LLM plugin here is the default.
plugin "llm" "llm-local" {
  enabled = true
}

# Other LLM providers, once you have one (then run dpc plugin lock):
# plugin "llm" "llm-ollama" {
#   config {
#     host  = "http://127.0.0.1:11434"
#     model = "llama3"
#   }
# }
# plugin "llm" "llm-openai" {
#   config {
#     base_url = "https://api.openai.com/v1"
#     model    = "gpt-4o-mini"
#     api_key  = env("OPENAI_API_KEY")
#   }
# }
# plugin "llm" "llm-anthropic" {
#   config {
#     api_key = env("ANTHROPIC_API_KEY")
#   }
# }

# Encrypted backups as files in a directory.
plugin "backup" "backup-file" {
  enabled = true
  config {
    dir = "${home}/backups"
  }
}

# A federation hub finds friends by node_id or search (dpc hub login, dpc
# lookup, dpc search); it never sees a message. The profile block is what it
# shows of you (default: node.name only); publish_uris lets whoever finds you
# connect directly.
# plugin "hub" "hub-dpc" {
#   config {
#     url = "https://hub.example.org"
#   }
# }
# profile {
#   description  = "Go and Rust"
#   expertise    = { golang = 4 }
#   publish_uris = true
# }
`

// DefaultFileContent returns the commented dpc.hcl that `dpc init` writes
// for a node called nodeName.
func DefaultFileContent(nodeName string) []byte {
	// TokensForValue quotes and escapes the name (quotes, newlines, "${").
	name := hclwrite.TokensForValue(cty.StringVal(nodeName)).Bytes()
	return fmt.Appendf(nil, defaultFile, name)
}
