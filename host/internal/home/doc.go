// Package home knows the layout of a node's data directory ($DPC_HOME):
// every command finds its files through it, so the layout lives in one place.
package home
