import { get, post, del } from "/api.js";
import { h, shortID, when } from "/dom.js";

// The permissions a member may hold, and what each lets them do.
const permNames = ["read", "write", "invite", "remove", "close", "admin"];
const permHelp = {
  read: "read the posts",
  write: "post",
  invite: "invite others",
  remove: "remove others",
  close: "close the channel",
  admin: "change permissions",
};
const permsOf = (m) => new Set((m?.perms || "").split(",").filter((p) => p && p !== "none"));

// permBoxes is a fieldset of checkboxes, one per permission.
function permBoxes(idPrefix, legend, checked) {
  return h("fieldset", { class: "perms" }, h("legend", {}, legend),
    permNames.map((p) => h("span", { class: "perm" },
      h("input", { type: "checkbox", id: `${idPrefix}-${p}`, name: "perm", value: p, checked: checked.has(p) }),
      h("label", { for: `${idPrefix}-${p}`, title: permHelp[p] }, p))));
}
const checkedPerms = (el) => [...el.querySelectorAll("input[name=perm]:checked")].map((i) => i.value);

// renderList is the channels screen: the channels, the invites, create.
export async function renderList(root) {
  const list = h("ul", { class: "peers", id: "channels" });
  const invites = h("ul", { class: "peers", id: "channel-invites" });
  const status = h("p", { role: "status", class: "hint", id: "channel-status" });
  const refresh = async () => {
    const [chans, ins] = await Promise.all([get("/v1/channels"), get("/v1/channel-invites")]);
    list.replaceChildren(...(chans.length ? chans.map((c) => h("li", { class: "peer", dataset: { channel: c.channel } },
      h("div", { class: "peer-main" },
        h("a", { href: `#/channel/${c.channel}`, class: "peer-name" }, c.name || shortID(c.channel)),
        h("span", { class: "muted" }, `${c.members} member${c.members === 1 ? "" : "s"} · ${c.posts} post${c.posts === 1 ? "" : "s"}`),
        c.closed ? h("span", { class: "badge muted" }, "closed") : null))) : [h("li", {}, "No channels yet.")]));
    invites.replaceChildren(...(ins.length ? ins.map((i) => h("li", { class: "peer", dataset: { channel: i.channel } },
      h("div", { class: "peer-main" },
        h("span", { class: "peer-name" }, `From ${i.from_name || shortID(i.from)}`),
        h("code", { class: "peer-id", title: i.channel }, shortID(i.channel)),
        h("span", { class: "muted" }, `you would ${i.perms}`), h("small", { class: "muted" }, when(i.received_ms))),
      h("button", { type: "button", class: "accept", onclick: async (e) => {
          e.target.disabled = true;
          status.textContent = "joining: fetching the channel from its members…";
          try {
            await post(`/v1/channels/${i.channel}/accept`);
            location.hash = `#/channel/${i.channel}`;
          } catch (err) {
            status.textContent = `not joined: ${err.message}`;
            e.target.disabled = false;
          }
        } }, `Join the channel from ${i.from_name || shortID(i.from)}`))) : [h("li", {}, "None.")]));
  };
  const name = h("input", { id: "channel-name", name: "name", required: true, autocomplete: "off", maxlength: 200 });
  const form = h("form", { id: "channel-create", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await post("/v1/channels", { name: name.value.trim() });
        location.hash = `#/channel/${r.channel}`;
      } catch (err) {
        status.textContent = `not created: ${err.message}`;
      }
    } },
    h("label", { for: "channel-name" }, "New channel's name"), name, h("button", { type: "submit" }, "Create channel"));
  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Channels"),
    form, status,
    h("h3", {}, "Invites"), invites,
    h("h3", {}, "Your channels"), list);
  await refresh();
  return {
    onEvent(e) { if (e.type === "channel.op" || e.type === "channel.invite") refresh(); },
    refresh,
  };
}

// pageSize is how many more posts "Show older posts" asks for (the API
// answers the last `limit` posts).
const pageSize = 50;

// renderChannel is one channel: its posts, members and what this node may
// do in it.
export async function render(root, id) {
  const self = (await get("/v1/node")).node_id;
  let limit = pageSize;
  const title = h("h2", { id: "view-title", tabindex: -1 }, "Channel");
  const info = h("p", { class: "hint", id: "channel-info" });
  const status = h("p", { role: "status", class: "hint", id: "channel-status" });
  const posts = h("ol", { class: "messages", id: "posts", "aria-live": "polite", "aria-label": "Posts" });
  const older = h("button", { type: "button", id: "older", hidden: true, onclick: () => { limit += pageSize; load(); } }, "Show older posts");
  const members = h("ul", { class: "peers", id: "members", "aria-label": "Members" });
  const actions = h("div", { id: "channel-actions" });

  const act = (what, fn) => async (e) => {
    e.preventDefault();
    status.textContent = "";
    try {
      await fn();
      await load();
    } catch (err) {
      status.textContent = `${what}: ${err.message}`;
    }
  };

  const text = h("textarea", { id: "post-text", name: "text", rows: 2, required: true,
    onkeydown: (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); postForm.requestSubmit(); } } });
  const postForm = h("form", { id: "post", onsubmit: act("not posted", async () => {
      const body = text.value.trim();
      if (!body) return;
      await post(`/v1/channels/${id}/posts`, { text: body });
      text.value = "";
    }) },
    h("label", { for: "post-text" }, "Post to the channel"), text, h("button", { type: "submit" }, "Post"));

  function memberRow(m, mine) {
    const name = m.node_id === self ? `${m.name || shortID(m.node_id)} (you)` : m.name || shortID(m.node_id);
    const row = h("li", { class: "peer member", dataset: { node: m.node_id, perms: m.perms } },
      h("div", { class: "peer-main" },
        h("span", { class: "peer-name" }, name),
        h("code", { class: "peer-id", title: m.node_id }, shortID(m.node_id)),
        h("span", { class: "perms-text" }, m.perms)));
    if (m.node_id === self) return row;
    if (mine.has("admin")) {
      const boxes = permBoxes(`grant-${shortID(m.node_id)}`, `Permissions of ${name}`, permsOf(m));
      row.append(h("details", {}, h("summary", {}, `Change ${name}'s permissions`),
        h("form", { class: "grant", onsubmit: act("not changed", () => post(`/v1/channels/${id}/grant`, { node: m.node_id, perms: checkedPerms(boxes) })) },
          boxes, h("button", { type: "submit" }, "Save permissions"))));
    }
    if (mine.has("remove")) {
      row.append(h("button", { type: "button", class: "secondary", onclick: act("not removed", () => del(`/v1/channels/${id}/members/${m.node_id}`)) },
        `Remove ${name}`));
    }
    return row;
  }

  async function inviteForm(ms) {
    const inside = new Set(ms.map((m) => m.node_id));
    const peers = (await get("/v1/peers")).filter((p) => !p.request && !inside.has(p.node_id));
    if (!peers.length) return h("p", { class: "hint" }, "Every contact is a member already (add contacts to invite more).");
    const who = h("select", { id: "invite-node", name: "node", required: true },
      peers.map((p) => h("option", { value: p.node_id }, `${p.name || shortID(p.node_id)} (${shortID(p.node_id)})`)));
    const boxes = permBoxes("invite-perm", "They may", new Set(["read", "write"]));
    return h("form", { id: "invite", onsubmit: act("not invited", async () => {
        await post(`/v1/channels/${id}/invite`, { node: who.value, perms: checkedPerms(boxes) });
        status.textContent = "invited: they see the invite once connected";
      }) },
      h("label", { for: "invite-node" }, "Invite a contact"), who, boxes, h("button", { type: "submit" }, "Invite"));
  }

  async function load() {
    const [st, ms, ps] = await Promise.all([
      get(`/v1/channels/${id}`), get(`/v1/channels/${id}/members`), get(`/v1/channels/${id}/posts?limit=${limit}`)]);
    const mine = permsOf(ms.find((m) => m.node_id === self));
    title.textContent = `Channel ${st.name || shortID(id)}`;
    info.textContent = `${st.members} member${st.members === 1 ? "" : "s"} · ${st.posts} post${st.posts === 1 ? "" : "s"}` +
      (st.closed ? " · closed: nothing more can be posted" : "") + ` · you may ${mine.size ? [...mine].join(", ") : "nothing"}`;
    posts.replaceChildren(...ps.map((p) => h("li", { class: `msg ${p.author === self ? "out" : "in"}`, dataset: { id: p.id } },
      h("p", { class: "text" }, p.redacted ? "(removed)" : p.unreadable ? `(unreadable: ${p.unreadable})` : p.text),
      h("small", { class: "meta" }, `${p.author_name || shortID(p.author)} · ${when(p.time_ms)}${p.edited ? " · edited" : ""}`))));
    if (!ps.length) posts.append(h("li", { class: "empty" }, "No posts yet."));
    older.hidden = ps.length < limit;
    posts.lastElementChild?.scrollIntoView({ block: "end" });
    postForm.hidden = st.closed || !mine.has("write");
    members.replaceChildren(...ms.map((m) => memberRow(m, mine)));
    const parts = [];
    if (!st.closed && mine.has("invite")) parts.push(await inviteForm(ms));
    if (!st.closed && mine.has("close")) {
      const really = h("button", { type: "button", id: "close-really", hidden: true,
        onclick: act("not closed", () => post(`/v1/channels/${id}/close`)) }, "Yes, close it for everyone");
      parts.push(h("p", {}, h("button", { type: "button", class: "secondary", id: "close-channel",
        onclick: () => { really.hidden = false; really.focus(); } }, "Close the channel"), " ", really));
    }
    actions.replaceChildren(...parts);
  }

  root.replaceChildren(
    title, info, h("p", { class: "hint" }, h("a", { href: "#/channels" }, "All channels")),
    older, posts, postForm, status,
    h("h3", {}, "Members"), members, actions);
  await load();
  return {
    onEvent(e) {
      if (e.type === "channel.op" && e.data?.channel === id) load();
    },
    refresh: load,
  };
}
