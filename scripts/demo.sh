#!/usr/bin/env bash
# make demo: three D-PC nodes, Alice, Bob and Carol, in throwaway data
# directories on loopback. Alice and Bob connect, exchange messages and a
# file; Carol shares part of her personal context with Alice, and Alice's AI
# answers with it, while this script says what happens. Then they keep
# running so you can use them from another terminal. Ctrl-C stops them all
# and removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."

DPC=bin/dpc
A_PORT=${A_PORT:-18888}  B_PORT=${B_PORT:-18889}  C_PORT=${C_PORT:-18890}
A_API=${A_API:-19888}    B_API=${B_API:-19889}    C_API=${C_API:-19890}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dpc-demo.XXXXXX")
A_HOME=$WORK/alice B_HOME=$WORK/bob C_HOME=$WORK/carol
PIDS=()

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

cleanup() {
	trap - INT TERM EXIT
	# After Ctrl-C under a pipe (make demo | cat) the reader is gone:
	# writing must neither kill this script nor stop the cleanup.
	trap '' PIPE
	say "stopping the nodes and removing $WORK" 2>/dev/null || true
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
# Ctrl-C is how the demo ends: clean up and succeed. Any other exit keeps
# its status.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# firewall check exits 1 on deny: here that is an answer, not a failure.
fwcheck() { run "$DPC" --home "$1" firewall check "$2" "$3" || [ $? -eq 1 ]; }

node_id() { "$DPC" --home "$1" id | awk '/^node_id/ {print $2}'; }

wait_api() { # wait until the node in $1, process $2, answers
	for _ in $(seq 1 300); do
		"$DPC" --home "$1" plugin status >/dev/null 2>&1 && return 0
		if ! kill -0 "$2" 2>/dev/null; then
			echo "demo: the node in $1 could not start:" >&2
			grep '^dpc: ' "$1.log" >&2 || tail -n 20 "$1.log" >&2
			echo "demo: free that address, or pick other ports: A_PORT B_PORT C_PORT (peers), A_API B_API C_API (local API), e.g. A_PORT=28888 make demo" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "demo: the node in $1 did not answer in 30 s; its log:" >&2
	cat "$1.log" >&2
	exit 1
}

say "creating two identities (Ed25519 keys; node_id = hash of the public key)"
run "$DPC" --home "$A_HOME" init --name Alice
run "$DPC" --home "$B_HOME" init --name Bob
A=$(node_id "$A_HOME") B=$(node_id "$B_HOME")

say "pinning the plugins each node may run (sha256 in dpc.lock.hcl)"
run "$DPC" --home "$A_HOME" plugin lock
run "$DPC" --home "$B_HOME" plugin lock

say "starting both nodes (logs in $WORK/*.log)"
"$DPC" --home "$A_HOME" run --listen "127.0.0.1:$A_PORT" --api "127.0.0.1:$A_API" >"$A_HOME.log" 2>&1 & PIDS+=($!); A_PID=$!
"$DPC" --home "$B_HOME" run --listen "127.0.0.1:$B_PORT" --api "127.0.0.1:$B_API" >"$B_HOME.log" 2>&1 & PIDS+=($!); B_PID=$!
wait_api "$A_HOME" "$A_PID"; wait_api "$B_HOME" "$B_PID"
run "$DPC" --home "$A_HOME" plugin status

say "Alice connects to Bob: TLS 1.3 with both certificates; each side checks the other's node_id"
run "$DPC" --home "$A_HOME" connect "dpc://127.0.0.1:$B_PORT?node_id=$B"
say "Bob adds Alice too, so each is the other's contact (strangers only get contact requests)"
run "$DPC" --home "$B_HOME" connect "dpc://127.0.0.1:$A_PORT?node_id=$A"

say "messages both ways: stored before 'sent', delivered and acknowledged (a contact's name, or the start of its node_id, does for NODE_ID)"
run "$DPC" --home "$A_HOME" send Bob "Hi Bob, this went straight to you, no server in between."
run "$DPC" --home "$B_HOME" send Alice "Hi Alice! Got it."
sleep 1
run "$DPC" --home "$B_HOME" history Alice

say "a file: offered, accepted by Bob's firewall, streamed, and its sha256 verified by Bob"
printf 'A note from Alice, written %s.\n' "$(date)" >"$WORK/note.txt"
run "$DPC" --home "$A_HOME" send-file "$B" "$WORK/note.txt"
run "$DPC" --home "$B_HOME" transfers

say "the firewall decides, and says which rule did"
fwcheck "$B_HOME" "$A" messages
fwcheck "$B_HOME" "$A" context:profile.name

say "Carol joins: her personal context (personal.json) holds her profile and her cooking notes"
run "$DPC" --home "$C_HOME" init --name Carol
C=$(node_id "$C_HOME")
run "$DPC" --home "$C_HOME" context set profile.email "carol@example.org"
run "$DPC" --home "$C_HOME" context set knowledge.cooking.summary "Carol cooks Sicilian pasta alla Norma"
run "$DPC" --home "$C_HOME" context set knowledge.gardening.summary "Carol grows tomatoes on her balcony"
say "Carol's firewall shares her name and her cooking notes with her friends (Alice), nothing else"
cat >"$C_HOME/firewall.hcl" <<HCL
group "friends" {
  members = ["$A"]
}
rule "group" "contacts" {
  allow = ["messages", "files", "history"]
}
rule "group" "friends" {
  allow = ["context:profile.name", "context:knowledge.cooking.*"]
}
rule "scope" "default" {
  allow = ["context:*"]
}
HCL
sed 's/^/    /' "$C_HOME/firewall.hcl"
run "$DPC" --home "$C_HOME" plugin lock
"$DPC" --home "$C_HOME" run --listen "127.0.0.1:$C_PORT" --api "127.0.0.1:$C_API" >"$C_HOME.log" 2>&1 & PIDS+=($!); C_PID=$!
wait_api "$C_HOME" "$C_PID"
run "$DPC" --home "$A_HOME" connect "dpc://127.0.0.1:$C_PORT?node_id=$C"
run "$DPC" --home "$C_HOME" connect "dpc://127.0.0.1:$A_PORT?node_id=$A"
run "$DPC" --home "$B_HOME" connect "dpc://127.0.0.1:$C_PORT?node_id=$C"
fwcheck "$C_HOME" "$A" context:knowledge.cooking.summary
fwcheck "$C_HOME" "$A" context:profile.email

say "Alice asks her AI (llm-local: answers by retrieval, no model needed) with Carol's shared context"
run "$DPC" --home "$A_HOME" ask --peer Carol "what pasta does Carol cook?"
say "Carol's e-mail is withheld: Alice's AI never sees it"
run "$DPC" --home "$A_HOME" ask --peer "$C" "what is Carol's email?"
say "Bob is not Carol's friend: Carol shares nothing with him, and his ask says so"
run "$DPC" --home "$B_HOME" ask --peer "$C" "what pasta does Carol cook?"

say "all three nodes keep running. From another terminal:"
cat <<MSG
  $DPC --home $A_HOME chat Bob     # chat as Alice with Bob
  $DPC --home $B_HOME chat Alice   # chat as Bob with Alice
  $DPC --home $A_HOME ask --peer Carol "what does Carol cook?"
  $DPC --home $C_HOME context edit     # change what Carol knows; Alice's next ask sees it
  $DPC --home $A_HOME peers
  $DPC --home $A_HOME send-file $B /some/file
  $DPC --home $A_HOME ui               # Alice's web UI in your browser (--print: just the link)

Press Ctrl-C here to stop the nodes and remove $WORK.
MSG
wait
