import { get, post, del } from "/api.js";
import { h, when } from "/dom.js";

const statusHelp = {
  online: "online: logged in; the hub lists you and relays signals",
  hub_offline: "logged in, but the hub cannot be reached right now (retrying)",
  offline: "offline: not logged in",
};

export async function render(root) {
  const state = h("p", { id: "hub-status", role: "status", class: "state" });
  const why = h("p", { id: "hub-why", class: "hint" });
  const buttons = h("p", { id: "hub-buttons" });
  const status = h("p", { class: "hint", role: "status", id: "hub-action" });
  const accounts = h("div", { id: "hub-accounts" });
  const profile = h("div", { id: "hub-profile" });

  const act = (what, fn) => async (e) => {
    e.target.disabled = true;
    status.textContent = `${what}…`;
    try {
      await fn();
      status.textContent = "";
    } catch (err) {
      status.textContent = `${what}: ${err.message}`;
    } finally {
      e.target.disabled = false;
      await refresh();
    }
  };

  async function loadAccounts(st) {
    if (st.status === "offline") {
      accounts.replaceChildren(h("p", { class: "hint" }, "Log in to see and link accounts."));
      return;
    }
    let res;
    try {
      res = await get("/v1/hub/accounts");
    } catch (err) {
      accounts.replaceChildren(h("p", { class: "error" }, `accounts: ${err.message}`));
      return;
    }
    const linked = new Set(res.accounts.map((a) => a.provider));
    const out = h("div", { class: "link-out", id: "hub-link" });
    // replaceChildren would show a null as "null".
    accounts.replaceChildren(...[
      res.required && !res.accounts.length ? h("p", { class: "error" }, "This hub needs a linked account before it lists you or relays signals.") : null,
      h("ul", { id: "hub-linked" }, res.accounts.length ? res.accounts.map((a) => h("li", {},
        `${a.provider}: ${a.name || a.email || a.subject}`, a.linked_at ? ` (since ${when(a.linked_at)}) ` : " ",
        h("button", { type: "button", class: "secondary", onclick: act(`unlinking ${a.provider}`,
          () => del(`/v1/hub/accounts/${encodeURIComponent(a.provider)}`)) }, `Unlink ${a.provider}`)))
        : h("li", {}, "No account linked.")),
      h("p", {}, res.providers.filter((p) => !linked.has(p.name)).map((p) => h("button", { type: "button", onclick: async (e) => {
          e.target.disabled = true;
          try {
            const l = await post("/v1/hub/link", { provider: p.name });
            out.replaceChildren(h("a", { href: l.url, target: "_blank", rel: "noopener noreferrer" }, `Open ${p.display_name || p.name} to link (new tab)`),
              h("span", { class: "hint" }, ` · valid until ${when(l.expires)}`));
          } catch (err) {
            out.replaceChildren(h("span", { class: "error" }, `not linked: ${err.message}`));
          } finally { e.target.disabled = false; }
        } }, `Link ${p.display_name || p.name}`))),
      out].filter(Boolean));
  }

  async function loadProfile() {
    try {
      const p = await get("/v1/hub/profile");
      const ex = Object.entries(p.profile.expertise || {});
      profile.replaceChildren(h("dl", { class: "facts" },
        h("dt", {}, "Name"), h("dd", {}, p.profile.name || "(none: set node.name or profile in dpc.hcl)"),
        h("dt", {}, "Description"), h("dd", {}, p.profile.description || "(none)"),
        h("dt", {}, "Expertise"), h("dd", {}, ex.length ? ex.map(([k, v]) => `${k} ${v}`).join(", ") : "(none)"),
        h("dt", {}, "Addresses published"), h("dd", {}, p.uris.length ? h("ul", {}, p.uris.map((u) => h("li", {}, h("code", {}, u))))
          : "none (only the hub's relay finds you)")));
    } catch (err) {
      profile.replaceChildren(h("p", { class: "error" }, `profile: ${err.message}`));
    }
  }

  async function refresh() {
    const st = await get("/v1/hub");
    state.dataset.state = st.status;
    if (!st.plugin) {
      state.textContent = "no hub configured";
      why.textContent = 'No hub plugin is configured: add plugin "hub" "hub-dpc" { config { url = "https://hub.example" } } to dpc.hcl, then run dpc plugin lock and restart dpc run.';
      buttons.replaceChildren();
      accounts.replaceChildren(h("p", { class: "hint" }, "Accounts are linked through a hub."));
    } else {
      state.textContent = `${st.plugin}: ${statusHelp[st.status] || st.status}`;
      why.textContent = [st.last_error ? `Why: ${st.last_error}` : "", st.since ? `since ${when(st.since)}` : "",
        st.session_expires ? `login valid until ${when(st.session_expires)}` : ""].filter(Boolean).join(" · ");
      buttons.replaceChildren(...[st.status === "offline"
        ? h("button", { type: "button", id: "hub-login", onclick: act("logging in", () => post("/v1/hub/login")) }, "Log in to the hub")
        : h("button", { type: "button", id: "hub-logout", class: "secondary", onclick: act("logging out", () => post("/v1/hub/logout")) }, "Log out"),
        st.status === "online"
          ? h("button", { type: "button", id: "hub-publish", class: "secondary", onclick: act("publishing", () => post("/v1/hub/profile")) }, "Publish the profile now")
          : null].filter(Boolean));
      await loadAccounts(st);
    }
    await loadProfile();
  }

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Hub"),
    state, why, buttons, status,
    h("h3", {}, "Linked accounts"), accounts,
    h("h3", {}, "Profile the hub shows"), profile);
  await refresh();
  return {
    onEvent(e) { if (e.type === "hub") refresh(); },
    refresh,
  };
}
