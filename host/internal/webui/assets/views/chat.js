import { get, post } from "/api.js";
import { h, shortID, when } from "/dom.js";

// What each delivery state means to the person who sent the message.
const stateLabel = {
  queued: "queued",
  delivered: "delivered",
  held: "sent: waiting for them to accept you",
  denied: "refused",
  restored: "sent (restored from their history)",
};

function bubble(m) {
  const out = m.from !== m.peer;
  const label = out ? stateLabel[m.state] || m.state : "";
  return h("li", { class: `msg ${out ? "out" : "in"}`, dataset: { id: m.id, state: m.state } },
    h("p", { class: "text" }, m.text),
    h("small", { class: "meta" }, when(m.sent_at),
      out ? h("span", { class: `delivery ${m.state}` }, " · ", label, m.reason ? `: ${m.reason}` : "") : null));
}

export async function render(root, peerID) {
  const peers = await get("/v1/peers");
  const peer = peers.find((p) => p.node_id === peerID);
  const name = peer ? peer.name || shortID(peerID) : shortID(peerID);
  const list = h("ol", { class: "messages", id: "messages", "aria-live": "polite", "aria-label": `Messages with ${name}` });
  const byID = new Map();
  let olderCursor = "";
  const older = h("button", { type: "button", id: "older", hidden: true, onclick: () => loadOlder() }, "Show older messages");
  const status = h("p", { class: "error", role: "alert", id: "send-status", hidden: true });
  const peerState = h("span", { class: "state", id: "peer-state" }, peer ? peer.state : "unknown peer");

  const put = (m, where) => {
    const old = byID.get(m.id);
    // The answer to a send ("queued") can arrive after the event that it
    // was delivered: a state never goes back to queued.
    if (old && m.state === "queued" && old.dataset.state !== "queued") return;
    const el = bubble(m);
    byID.set(m.id, el);
    if (old) old.replaceWith(el);
    else if (where === "top") list.prepend(el);
    else list.append(el);
  };
  const scrollDown = () => list.lastElementChild?.scrollIntoView({ block: "end" });

  async function loadOlder() {
    const page = await get(`/v1/messages?peer=${peerID}&before=${encodeURIComponent(olderCursor)}`);
    for (const m of [...page.messages].reverse()) put(m, "top");
    olderCursor = page.next || "";
    older.hidden = !page.more;
  }
  async function loadLatest() {
    const page = await get(`/v1/messages?peer=${peerID}`);
    for (const m of page.messages) put(m, "bottom");
    olderCursor = page.next || "";
    older.hidden = !page.more;
    scrollDown();
  }

  const text = h("textarea", { id: "compose-text", name: "text", rows: 2, required: true,
    onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } } });
  const form = h("form", { id: "compose", onsubmit: async (e) => {
      e.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      status.hidden = true;
      try {
        const m = await post("/v1/messages", { to: peerID, text: body });
        put(m, "bottom");
        text.value = "";
        scrollDown();
      } catch (err) {
        status.textContent = `not sent: ${err.message}`;
        status.hidden = false;
      }
    } },
    h("label", { for: "compose-text" }, `Message to ${name}`), text, h("button", { type: "submit" }, "Send"));

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, `Chat with ${name} `, peerState),
    h("p", { class: "hint" }, h("a", { href: "#/contacts" }, "All contacts")),
    older, list, form, status);
  await loadLatest();
  return {
    onEvent(e) {
      if (e.peer !== peerID) return;
      if (e.type === "message" || e.type === "message_state") {
        put(e.data, "bottom");
        scrollDown();
      } else if (e.type === "peer" && e.data && e.data.state) {
        peerState.textContent = e.data.state;
      }
    },
    refresh: loadLatest,
  };
}
