module github.com/dpc-go/dpc/examples/llm-echo

go 1.26.8

require (
	github.com/dpc-go/dpc/proto v0.0.0-00010101000000-000000000000
	github.com/dpc-go/dpc/sdk v0.0.0-00010101000000-000000000000
)

replace github.com/dpc-go/dpc/proto => ../../proto

replace github.com/dpc-go/dpc/sdk => ../../sdk
