import { get } from "/api.js";
import { h, when } from "/dom.js";

// What each kind of plugin is for.
const kindHelp = {
  transport: "carries connections to other nodes",
  hub: "logs this node in to a hub (directory, signals, mailbox)",
  llm: "answers questions with a language model",
  backup: "backs up this node's data",
};

// What each grant lets a plugin do through the host (plugins.Grants).
function grantHelp(g) {
  const known = {
    identity: "read this node's public identity (never its keys)",
    events: "report events to you",
    signals: "exchange signals with this node's other plugins",
    "hub-relay": "send signals to other nodes through your hub, and use its STUN/TURN servers",
    "hub-session": "have its hub login kept for it, encrypted",
  };
  if (known[g]) return known[g];
  if (g.startsWith("sign:")) return `have the node key sign for "${g.slice(5)}" only`;
  return g;
}

const stateHelp = {
  starting: "starting",
  running: "running",
  restarting: "crashed: restarting",
  failed: "failed: gave up restarting",
  stopped: "stopped",
};

function card(p) {
  return h("li", { class: "plugin", dataset: { id: p.id, state: p.state } },
    h("h3", {}, p.id, " ", h("span", { class: "state plugin-state", dataset: { state: p.state } }, stateHelp[p.state] || p.state)),
    h("dl", { class: "facts" },
      h("dt", {}, "Kind"), h("dd", {}, `${p.kind}: ${kindHelp[p.kind] || "a plugin"}`),
      h("dt", {}, "Version"), h("dd", {}, p.version ? `${p.version} (plugin API ${p.api_version})` : "not known until it runs"),
      h("dt", {}, "Since"), h("dd", {}, when(p.since), p.pid ? ` · pid ${p.pid}` : ""),
      h("dt", {}, "Restarts"), h("dd", { class: "restarts" }, String(p.restarts)),
      p.last_error ? [h("dt", {}, "Last error"), h("dd", { class: "error last-error" }, p.last_error)] : null,
      h("dt", {}, "Pinned sha256"), h("dd", {}, h("code", { class: "sha256" }, p.sha256 || "(none)"),
        h("p", { class: "hint" }, "Only a binary with this digest runs (dpc.lock.hcl; dpc plugin lock pins a new one).")),
      h("dt", {}, "Binary"), h("dd", {}, h("code", {}, p.path)),
      h("dt", {}, "May"), h("dd", {}, h("ul", { class: "allowed" },
        (p.allowed || []).map((g) => h("li", { dataset: { grant: g } }, h("code", {}, g), ": ", grantHelp(g)))))));
}

export async function render(root) {
  const list = h("ul", { class: "plugins", id: "plugins" });
  const refresh = async () => {
    const ps = await get("/v1/plugins");
    list.replaceChildren(...(ps.length ? ps.map(card)
      : [h("li", {}, "No plugins configured: add plugin blocks to dpc.hcl, then dpc plugin lock.")]));
  };
  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Plugins"),
    h("p", { class: "hint" }, "Each plugin runs as its own process and may only do what is listed under “May”."),
    list);
  await refresh();
  return {
    onEvent(e) { if (e.type === "plugin") refresh(); },
    refresh,
  };
}
