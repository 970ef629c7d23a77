// Package home knows the layout of a node's data directory ($DPC_HOME):
// every command finds its files through it, so the layout lives in one place.
// CheckPrivate tells whether a directory is this user's alone, which the API
// socket and the verified plugin copies rely on.
package home
