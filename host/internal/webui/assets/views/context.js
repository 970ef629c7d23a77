import { get, send } from "/api.js";
import { h } from "/dom.js";
import { showDiagnostics, showSaved, debounce } from "/editor.js";

// The personal context editor: personal.json as text, checked by the node
// as you type (problems with line and column), saved only when valid and
// only over the version it started from.
export async function render(root) {
  let doc = await get("/v1/context");
  let base = doc.hash;

  const text = h("textarea", { id: "context-text", name: "context", rows: 24, wrap: "off", spellcheck: "false",
    "aria-describedby": "context-diags-title" });
  text.value = doc.text;
  const diags = h("ul", { id: "context-diags", class: "diags" });
  const status = h("p", { id: "context-status", role: "status" });
  const fileError = h("p", { id: "context-file-error", class: "error", hidden: !doc.error },
    doc.error ? `The file has problems, so the node keeps using this version: ${doc.error}` : "");
  const save = h("button", { type: "submit", id: "context-save" }, "Save");
  const reload = h("button", { type: "button", id: "context-reload", class: "secondary", hidden: true }, "Load the newest version");

  const load = (d) => {
    doc = d;
    base = d.hash;
    text.value = d.text;
    fileError.hidden = !d.error;
    fileError.textContent = d.error ? `The file has problems, so the node keeps using this version: ${d.error}` : "";
  };

  let seq = 0; // answers to older checks are dropped
  const check = async () => {
    const mine = ++seq;
    const r = await send("PUT", "/v1/context", { text: text.value, hash: base, dry_run: true });
    if (mine !== seq) return;
    if (r.status === 200) {
      showDiagnostics(diags, text, []);
      status.textContent = text.value === doc.text ? "" : "valid; not saved yet";
    } else {
      showDiagnostics(diags, text, r.data.diagnostics || [{ line: 0, column: 0, message: r.data.error }]);
      status.textContent = "not valid: see the problems below the editor";
    }
  };
  const later = debounce(check, 300);
  text.addEventListener("input", later);

  reload.addEventListener("click", async () => {
    load(await get("/v1/context"));
    reload.hidden = true;
    showDiagnostics(diags, text, []);
    status.textContent = "loaded the newest version";
  });

  const form = h("form", { id: "context-form", class: "editor", onsubmit: async (e) => {
      e.preventDefault();
      later.cancel();
      seq++; // a check still out would describe older text
      save.disabled = true;
      status.textContent = "saving…";
      try {
        const r = await send("PUT", "/v1/context", { text: text.value, hash: base });
        showSaved(r, { status, diags, textarea: text, reload, savedText: "saved; used by the node", onSaved: load });
      } finally {
        save.disabled = false;
      }
    } },
    h("label", { for: "context-text" }, "personal.json"), text,
    h("h3", { id: "context-diags-title", class: "small" }, "Problems"), diags,
    h("div", { class: "buttons" }, save, reload));

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Personal context"),
    h("p", { class: "hint" }, `Your profile, knowledge and preferences (${doc.path}). Your AI uses them through the AI scopes of your firewall; peers see only the parts your firewall shares with them.`),
    fileError, form, status);
}
