// Package textsafe says which characters of text from a peer are unsafe to
// show or to use as a file name, and makes such text safe to print on a
// terminal: control characters (an ESC starts a terminal escape sequence
// that can rewrite the screen, the title or the clipboard) and the Unicode
// bidirectional controls (U+202E makes "gpj.exe" read "exe.jpg") are shown
// as visible escapes instead.
package textsafe
