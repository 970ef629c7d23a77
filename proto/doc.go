// Package proto holds D-PC's plugin wire contracts: one gRPC service per
// plugin kind under dpc/<kind>/v1, the Base service every plugin serves, and
// the Host callback service the host serves to plugins. Plugin authors use
// the sdk module instead of these generated types; the contracts are public
// so that plugins can be written in other languages too.
//
// Versioning: a breaking change gets a new directory (v2) next to v1; within
// v1 only fields and RPCs are added. Regenerate with `make proto`.
package proto
