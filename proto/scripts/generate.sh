#!/usr/bin/env bash
# Regenerates the Go code for every .proto under dpc/ with the generator
# versions pinned as tools in proto/go.mod. Needs protoc (Debian:
# protobuf-compiler); the generated code is committed, so only contract
# changes need this.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
GOWORK=off go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
GOWORK=off go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
mapfile -t files < <(find dpc -name '*.proto' | sort)
protoc -I . \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" --go_out=. --go_opt=paths=source_relative \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  "${files[@]}"
echo "generated ${#files[@]} contracts"
