// Package webui is the node's web UI: pages, scripts and styles embedded in
// the binary and served by the local API on its TCP address, so the UI
// works offline and fetches nothing from anywhere else. The pages are plain
// HTML, CSS and JavaScript modules (no build step); they talk to the API of
// the origin that served them, with the browser session `dpc ui` opens
// (see package api), and follow the node's event stream (/v1/stream).
package webui
