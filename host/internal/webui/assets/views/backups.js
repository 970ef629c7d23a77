import { get, post } from "/api.js";
import { h, when } from "/dom.js";

// size shows a byte count the way people read it.
export function size(n) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

const phases = { snapshot: "taking a snapshot of the database", encrypt: "encrypting", upload: "storing through the backup plugin" };

// The backups screen: make one (progress from the "backup" events), list
// the stored ones, verify one.
export async function render(root) {
  let min = 12;
  let current = null; // the id of the backup this page started
  const latest = new Map(); // id → the last progress seen, in case an event beats the POST's answer

  const bar = h("progress", { id: "backup-bar", max: 1, "aria-labelledby": "backup-progress-label" });
  const barLabel = h("span", { id: "backup-progress-label" }, "");
  const progress = h("div", { id: "backup-progress", class: "backup-progress", hidden: true, dataset: { state: "" } },
    barLabel, bar);
  const status = h("p", { role: "status", class: "hint", id: "backup-status" });
  const rule = h("p", { class: "hint", id: "backup-rule" }, "");
  const pass1 = h("input", { id: "backup-pass", type: "password", required: true, autocomplete: "new-password",
    "aria-describedby": "backup-rule" });
  const pass2 = h("input", { id: "backup-pass2", type: "password", required: true, autocomplete: "new-password" });
  const create = h("button", { type: "submit", id: "backup-create" }, "Create backup");
  const list = h("ul", { class: "backups", id: "backups" });
  const verifyPass = h("input", { id: "verify-pass", type: "password", autocomplete: "current-password" });

  const show = (p) => {
    progress.hidden = false;
    progress.dataset.state = p.state;
    if (p.state === "done") {
      bar.max = 1;
      bar.value = 1;
      barLabel.textContent = `Done: ${p.name} stored (${size(p.bytes)}).`;
      create.disabled = false;
      current = null;
      refresh();
    } else if (p.state === "failed") {
      bar.value = 0;
      barLabel.textContent = `Failed: ${p.error}`;
      create.disabled = false;
      current = null;
    } else {
      // The size is known only at the end: no value, an indeterminate bar.
      bar.removeAttribute("value");
      barLabel.textContent = `${phases[p.phase] || p.phase}… ${size(p.bytes)}`;
    }
  };

  const refresh = async () => {
    const l = await get("/v1/backups");
    min = l.min_passphrase;
    rule.textContent = `At least ${min} characters. Without it the backup cannot be opened: keep it somewhere safe.`;
    list.replaceChildren(...(l.backups.length ? l.backups.map(row) : [h("li", {}, "No backups yet.")]));
  };

  const row = (b) => {
    const result = h("span", { class: "verify-result", role: "status" });
    return h("li", { class: "backup", dataset: { name: b.name } },
      h("div", { class: "backup-main" },
        h("code", { class: "backup-name" }, b.name),
        h("span", { class: "muted" }, `${size(b.size)}, ${when(b.modified)}`)),
      h("button", { type: "button", class: "verify", onclick: async (e) => {
          if (!verifyPass.value) {
            result.textContent = "type the passphrase above first";
            verifyPass.focus();
            return;
          }
          e.target.disabled = true;
          result.textContent = "verifying…";
          result.dataset.state = "";
          try {
            const v = await post(`/v1/backups/${encodeURIComponent(b.name)}/verify`, { passphrase: verifyPass.value });
            result.textContent = `intact: ${v.manifest.members.length} members of node ${v.manifest.node_id}`;
            result.dataset.state = "ok";
          } catch (err) {
            result.textContent = `not verified: ${err.message}`;
            result.dataset.state = "bad";
          } finally {
            e.target.disabled = false;
          }
        } }, "Verify"),
      result);
  };

  const form = h("form", { id: "backup-form", onsubmit: async (e) => {
      e.preventDefault();
      if ([...pass1.value].length < min) {
        status.textContent = `The passphrase has ${[...pass1.value].length} characters; it needs at least ${min}.`;
        pass1.focus();
        return;
      }
      if (pass1.value !== pass2.value) {
        status.textContent = "The two passphrases differ.";
        pass2.focus();
        return;
      }
      create.disabled = true;
      status.textContent = "";
      try {
        const p = await post("/v1/backups", { passphrase: pass1.value });
        pass1.value = pass2.value = "";
        current = p.id;
        show(latest.get(p.id) || p);
      } catch (err) {
        status.textContent = `not started: ${err.message}`;
        create.disabled = false;
      }
    } },
    h("label", { for: "backup-pass" }, "Passphrase"), pass1, rule,
    h("label", { for: "backup-pass2" }, "The same passphrase again"), pass2,
    create);

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Backups"),
    h("p", {}, "A backup is one encrypted object with this node's keys, settings and messages, " +
      "stored through the node's backup plugin, which sees only ciphertext. " +
      "Restore one with dpc backup restore."),
    h("h3", {}, "Create a backup"), form, status, progress,
    h("h3", {}, "Stored backups"),
    h("div", { class: "verify-pass" }, h("label", { for: "verify-pass" }, "Passphrase to verify a backup with"), verifyPass),
    list);
  await refresh();
  return {
    onEvent(e) {
      if (e.type !== "backup" || !e.data) return;
      latest.set(e.data.id, e.data);
      if (e.data.id === current) show(e.data);
      else if (e.data.state === "done") refresh(); // made elsewhere (the CLI)
    },
    refresh,
  };
}
