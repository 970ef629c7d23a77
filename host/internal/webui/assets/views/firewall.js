import { get, send } from "/api.js";
import { h, shortID } from "/dom.js";
import { showDiagnostics, showSaved, debounce } from "/editor.js";

// The firewall editor: firewall.hcl as text, checked by the node as you
// type, and a live preview of what a contact would see of your context
// and may do here under the text as it is, saved or not: the node
// computes it with the code that answers that contact.

// shortRule names the rule by its line in firewall.hcl rather than by the
// file's whole path.
const shortRule = (rule, path) => (path && rule.startsWith(path + ":") ? "firewall.hcl" + rule.slice(path.length) : rule);

function previewView(p, path) {
  return [
    h("h4", {}, "Resources"),
    h("ul", { id: "fw-resources", class: "resources" }, p.resources.map((a) =>
      h("li", { dataset: { resource: a.resource, allowed: String(a.allowed) } },
        h("span", { class: `badge ${a.allowed ? "ok" : "muted"}` }, a.allowed ? "allowed" : "denied"), " ",
        h("code", {}, a.resource), " ", h("small", { class: "muted" }, shortRule(a.rule, path))))),
    h("h4", {}, "Models it may run prompts on"),
    p.models.length ? h("ul", { id: "fw-models" }, p.models.map((m) => h("li", {}, h("code", {}, m))))
      : h("p", { id: "fw-models", class: "hint" }, "None."),
    h("h4", {}, "Personal context it sees"),
    p.paths.length
      ? h("ul", { id: "fw-paths" }, p.paths.map((x) => h("li", { dataset: { path: x } }, h("code", {}, x))))
      : h("p", { id: "fw-paths", class: "hint" }, "Nothing."),
    h("pre", { id: "fw-context", class: "json" }, JSON.stringify(p.context, null, 2)),
  ];
}

export async function render(root) {
  const [file, peers] = await Promise.all([get("/v1/firewall/rules"), get("/v1/peers")]);
  let saved = file;
  const contacts = peers.filter((p) => !p.request);

  const text = h("textarea", { id: "fw-text", name: "rules", rows: 24, wrap: "off", spellcheck: "false", "aria-describedby": "fw-diags-title" });
  text.value = file.text;
  const diags = h("ul", { id: "fw-diags", class: "diags" });
  const status = h("p", { id: "fw-status", role: "status" });
  const fileError = h("p", { id: "fw-file-error", class: "error", hidden: !file.error });
  const peer = h("select", { id: "fw-peer", name: "peer" },
    contacts.length ? contacts.map((p) => h("option", { value: p.node_id }, `${p.name || shortID(p.node_id)} (${shortID(p.node_id)})`))
      : h("option", { value: "" }, "No contacts yet"));
  const previewNote = h("p", { id: "fw-preview-state", class: "hint", role: "status" });
  const preview = h("div", { id: "fw-preview", "aria-live": "polite" });
  const save = h("button", { type: "submit", id: "fw-save" }, "Save");
  const reload = h("button", { type: "button", id: "fw-reload", class: "secondary", hidden: true }, "Load the newest version");

  const showFile = (f) => {
    saved = f;
    text.value = f.text;
    fileError.hidden = !f.error;
    fileError.textContent = f.error ? `The file has problems, so the node keeps the previous rules: ${f.error}` : "";
  };
  showFile(file);

  let seq = 0; // answers to older previews are dropped
  const refreshPreview = async () => {
    const mine = ++seq;
    if (!peer.value) {
      previewNote.textContent = "Add a contact to preview what it sees.";
      return;
    }
    const r = await send("POST", "/v1/firewall/preview", { peer: peer.value, rules: text.value });
    if (mine !== seq) return;
    if (r.status === 200) {
      showDiagnostics(diags, text, []);
      const unsaved = text.value !== saved.text;
      previewNote.textContent = unsaved ? "Preview of your unsaved edit:" : "Under the rules in force:";
      previewNote.dataset.state = unsaved ? "unsaved" : "saved";
      preview.replaceChildren(...previewView(r.data, saved.path));
      preview.dataset.state = "ok";
    } else {
      showDiagnostics(diags, text, r.data.diagnostics || [{ line: 0, column: 0, message: r.data.error }]);
      previewNote.textContent = "The text has problems (see below the editor): the preview shows the last valid version.";
      preview.dataset.state = "stale";
    }
  };
  const later = debounce(refreshPreview, 300);
  text.addEventListener("input", () => {
    status.textContent = "";
    later();
  });
  peer.addEventListener("change", refreshPreview);

  reload.addEventListener("click", async () => {
    showFile(await get("/v1/firewall/rules"));
    reload.hidden = true;
    status.textContent = "loaded the newest version";
    refreshPreview();
  });

  const form = h("form", { id: "fw-form", class: "editor", onsubmit: async (e) => {
      e.preventDefault();
      later.cancel(); // the preview is refreshed once saved
      save.disabled = true;
      status.textContent = "saving…";
      delete status.dataset.state;
      try {
        const r = await send("PUT", "/v1/firewall/rules", { text: text.value, hash: saved.hash });
        showSaved(r, { status, diags, textarea: text, reload, savedText: "saved; in force now", onSaved: showFile });
      } finally {
        save.disabled = false;
      }
      refreshPreview();
    } },
    h("label", { for: "fw-text" }, "firewall.hcl"), text,
    h("h3", { id: "fw-diags-title", class: "small" }, "Problems"), diags,
    h("div", { class: "buttons" }, save, reload));

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Firewall"),
    h("p", { class: "hint" }, `What other nodes may do with yours (${file.path}). Anything no rule allows is denied.`),
    fileError,
    h("div", { class: "split" },
      h("div", {}, form, status),
      h("section", { "aria-labelledby": "fw-preview-title" },
        h("h3", { id: "fw-preview-title" }, "What this contact can see"),
        h("label", { for: "fw-peer" }, "Contact"), peer,
        previewNote, preview)));
  await refreshPreview();
}
