import { get, post } from "/api.js";
import { h, shortID, when } from "/dom.js";

// verification says how far a peer is known to be who its node_id says.
function verification(p) {
  if (p.spoke_dptp || p.protocol === "dptp/1") {
    return { label: "verified", cls: "ok", title: "Proved its node_id over mutual TLS (dptp/1)." };
  }
  if (p.protocol === "dpc-v1" || p.v1) {
    return { label: "weaker check (D-PC v1)", cls: "warn",
      title: "A D-PC Messenger v1 node: its identity is checked less strictly than dptp/1's mutual TLS." };
  }
  return { label: "not verified yet", cls: "muted", title: "No session with this peer yet: its node_id is unproven." };
}

function peerRow(p, refresh) {
  const v = verification(p);
  const name = p.name || shortID(p.node_id);
  return h("li", { class: "peer", dataset: { node: p.node_id } },
    h("div", { class: "peer-main" },
      h("a", { href: `#/chat/${p.node_id}`, class: "peer-name" }, name),
      h("code", { class: "peer-id", title: p.node_id }, p.node_id),
      h("span", { class: `badge ${v.cls}`, title: v.title }, v.label),
      h("span", { class: `state ${p.state}`, dataset: { state: p.state } }, p.state + (p.reason ? `: ${p.reason}` : ""))),
    p.request
      ? h("button", { type: "button", onclick: async (e) => {
          e.target.disabled = true;
          try { await post(`/v1/peers/${p.node_id}/accept`); } finally { refresh(); }
        } }, `Accept ${name}`)
      : null,
    p.last_seen ? h("small", { class: "muted" }, `last seen ${when(p.last_seen)}`) : null);
}

export async function render(root) {
  const status = h("p", { role: "status", class: "hint", id: "connect-status" });
  const list = h("ul", { class: "peers", id: "peers" });
  const requests = h("ul", { class: "peers", id: "requests" });
  const refresh = async () => {
    const peers = await get("/v1/peers");
    const contacts = peers.filter((p) => !p.request);
    const reqs = peers.filter((p) => p.request);
    list.replaceChildren(...(contacts.length ? contacts.map((p) => peerRow(p, refresh)) : [h("li", {}, "No contacts yet.")]));
    requests.replaceChildren(...(reqs.length ? reqs.map((p) => peerRow(p, refresh)) : [h("li", {}, "None.")]));
  };
  const uri = h("input", { id: "connect-uri", name: "uri", required: true, autocomplete: "off",
    placeholder: "dpc://HOST:PORT?node_id=… or a node_id" });
  const form = h("form", { id: "connect", onsubmit: async (e) => {
      e.preventDefault();
      status.textContent = "connecting…";
      try {
        const r = await post("/v1/peers", { uri: uri.value.trim() });
        status.textContent = r.error ? `added, not connected yet: ${r.error}` : `connected to ${r.peer.name || r.peer.node_id}`;
        uri.value = "";
      } catch (err) {
        status.textContent = `not added: ${err.message}`;
      }
      refresh();
    } },
    h("label", { for: "connect-uri" }, "Add a contact"), uri, h("button", { type: "submit" }, "Connect"));
  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Contacts"),
    form, status,
    h("h3", {}, "Contact requests"), requests,
    h("h3", {}, "Your contacts"), list);
  await refresh();
  return {
    onEvent(e) {
      if (e.type === "peer" || e.type === "contact_request") refresh();
    },
    refresh,
  };
}
