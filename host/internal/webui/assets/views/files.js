import { get, post, NotLoggedIn } from "/api.js";
import { h, shortID, when } from "/dom.js";

// What each transfer state means to the user.
const stateLabel = {
  offered: { out: "offered: waiting for them to accept", in: "offered" },
  waiting: { out: "waiting", in: "waiting for you to accept" },
  transferring: { out: "sending", in: "receiving" },
  completed: { out: "sent", in: "received" },
  cancelled: { out: "cancelled", in: "cancelled" },
};

export function size(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = -1;
  do { v /= 1024; u++; } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

// upload sends a File's bytes to the node, which offers it to `to`;
// onProgress(loaded, total) follows the upload itself.
function upload(to, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/files/upload?to=${encodeURIComponent(to)}&name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status === 401) return reject(new NotLoggedIn("not logged in: run `dpc ui` for a new login link"));
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: the status says it */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new Error(data.error || `upload: HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error("upload: the node could not be reached"));
    xhr.send(file);
  });
}

export async function render(root) {
  const names = new Map(); // node_id → name
  const online = new Set(); // peers connected now
  const peerName = (id) => names.get(id) || shortID(id);
  const list = h("ul", { class: "transfers", id: "transfers", "aria-label": "Transfers" });
  const rows = new Map(); // transfer id → li
  // The node stores a transfer's offset only now and then; the live
  // events carry the latest, which a reload of the list must not undo.
  const liveOffset = new Map(); // transfer id → offset of its last event

  function row(t) {
    const dir = t.direction === "out" ? "out" : "in";
    let label = (stateLabel[t.state] || {})[dir] || t.state;
    // The engine resumes after a drop; say so while the peer is away.
    if (t.state === "transferring" && !online.has(t.peer)) label = "paused: resumes when they reconnect";
    else if (t.state === "transferring" && t.offset > 0 && t.offset < t.size) label += ` (${Math.floor((100 * t.offset) / (t.size || 1))}%)`;
    if (t.reason) label += `: ${t.reason}`;
    const barID = `bar-${t.id}`;
    const done = t.state === "completed" ? t.size : t.offset;
    return h("li", { class: "transfer", dataset: { id: t.id, state: t.state, direction: dir } },
      h("div", { class: "transfer-main" },
        h("span", { class: "transfer-name" }, t.name),
        h("span", { class: "muted" }, dir === "out" ? `to ${peerName(t.peer)}` : `from ${peerName(t.peer)}`),
        h("span", { class: "state transfer-state", dataset: { state: t.state } }, label)),
      h("label", { for: barID, class: "sr-only" }, `${t.name}: ${label}`),
      h("progress", { id: barID, max: t.size || 1, value: t.size ? done : (t.state === "completed" ? 1 : 0) }),
      h("small", { class: "muted" }, `${size(done)} of ${size(t.size)} · ${when(t.updated || t.created)}`),
      t.direction === "in" && t.state === "waiting"
        ? h("button", { type: "button", class: "accept", onclick: async (e) => {
            e.target.disabled = true;
            // The transfer's events show it from here (the answer may be
            // older than they are).
            try { await post(`/v1/files/${t.id}/accept`); } catch (err) { status.textContent = `not accepted: ${err.message}`; e.target.disabled = false; }
          } }, `Accept ${t.name}`)
        : null);
  }
  function put(t, fromList) {
    if (!fromList) liveOffset.set(t.id, t.offset);
    else if (t.state === "transferring") t = { ...t, offset: Math.max(t.offset, liveOffset.get(t.id) || 0) };
    const el = row(t);
    const old = rows.get(t.id);
    rows.set(t.id, el);
    if (old) old.replaceWith(el);
    else list.prepend(el);
    list.querySelector(".empty")?.remove();
  }

  const to = h("select", { id: "send-to", name: "to", required: true });
  const file = h("input", { id: "send-file", name: "file", type: "file", required: true });
  const bar = h("progress", { id: "upload-progress", max: 1, value: 0 });
  const barLabel = h("label", { for: "upload-progress", id: "upload-label" }, "Upload to your node");
  const uploading = h("div", { class: "upload", hidden: true }, barLabel, bar);
  const status = h("p", { role: "status", class: "hint", id: "send-status" });
  const form = h("form", { id: "send", onsubmit: async (e) => {
      e.preventDefault();
      const f = file.files[0];
      if (!f || !to.value) return;
      const button = form.querySelector("button");
      button.disabled = true;
      uploading.hidden = false;
      status.textContent = "";
      try {
        const t = await upload(to.value, f, (loaded, total) => {
          bar.max = total || 1;
          bar.value = loaded;
          barLabel.textContent = `Uploading ${f.name} to your node: ${size(loaded)} of ${size(total)}`;
        });
        // Its events may have come first and be newer than this answer.
        if (!rows.has(t.id)) put(t);
        status.textContent = `${f.name} offered to ${peerName(to.value)}`;
        file.value = "";
      } catch (err) {
        if (err instanceof NotLoggedIn) throw err;
        status.textContent = `not sent: ${err.message}`;
      } finally {
        button.disabled = false;
        uploading.hidden = true;
      }
    } },
    h("label", { for: "send-to" }, "Send to"), to,
    h("label", { for: "send-file" }, "File"), file,
    h("button", { type: "submit" }, "Send file"));

  async function loadPeers() {
    const peers = await get("/v1/peers");
    const keep = to.value;
    names.clear();
    online.clear();
    for (const p of peers) {
      names.set(p.node_id, p.name || shortID(p.node_id));
      if (p.state === "connected") online.add(p.node_id);
    }
    const contacts = peers.filter((p) => !p.request);
    to.replaceChildren(...(contacts.length
      ? contacts.map((p) => h("option", { value: p.node_id }, `${p.name || shortID(p.node_id)} (${p.state})`))
      : [h("option", { value: "" }, "no contacts yet")]));
    if (keep) to.value = keep;
  }
  async function refresh() {
    await loadPeers();
    const all = (await get("/v1/files")) || []; // null when there are none
    all.sort((a, b) => String(a.created).localeCompare(String(b.created)));
    rows.clear();
    list.replaceChildren();
    for (const t of all) put(t, true);
    if (!all.length) list.append(h("li", { class: "empty" }, "No transfers yet."));
  }

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Files"),
    form, uploading, status,
    h("h3", {}, "Transfers"),
    h("p", { class: "hint" }, "An interrupted transfer goes on from where it stopped when the peer is back."),
    list);
  await refresh();
  return {
    onEvent(e) {
      if (e.type === "transfer" && e.data) put(e.data);
      else if (e.type === "peer") refresh();
    },
    refresh,
  };
}
