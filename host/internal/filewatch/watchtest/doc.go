// Package watchtest provides helpers for testing code that follows files
// with package filewatch, in the way net/http/httptest serves net/http: it
// is an ordinary package, imported only by tests.
//
// [WriteAtomic] and [WriteInPlace] edit a file the two ways editors do;
// [Eventually] waits for a watch to pick a change up (to check that nothing
// more happened, make a later change and wait for that); [LogBuffer] and
// [Logger] capture what the code under test logs.
package watchtest
