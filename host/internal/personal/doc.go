// Package personal holds the user's personal context: the profile and
// knowledge in $DPC_HOME/personal.json that trusted peers may read, as far
// as the firewall lets them, so that their AI can answer better.
//
// The file uses D-PC's Personal Context Model, format_version "2.0": a JSON
// object with "profile" {name, description, core_values}, "knowledge"
// {topic: {summary, entries: [{content, tags, …}], …}}, "preferences",
// "cognitive_profile", a commit head ("version", "last_commit_id", …) and
// "metadata" {created, last_updated, storage, format_version}. [Default] is
// the file `dpc init` writes.
//
// [Parse] checks the parts the host relies on and tolerates everything
// else, as D-PC does: unknown keys, at the top level or inside, are kept and
// written back. The document is kept as the map[string]any encoding/json
// decodes, with numbers as json.Number so that they are written back exactly
// as read; that is what the firewall's Rules.Filter takes. [Hash] names a
// version of the document by its content, whatever the file's layout.
//
// [Load] reads the file into a [File], which owns it from then on: [File.Current]
// gives the document in force, [File.Update] changes it and writes the file
// (what `dpc context set`, through [Set], does), and [File.Watch] picks up the
// user's own edits. An edit with errors leaves the previous document in
// force and is reported by [File.LastError], with file:line:column, until it
// is fixed.
package personal
