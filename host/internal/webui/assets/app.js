import { stream, post, NotLoggedIn } from "/api.js";
import { h } from "/dom.js";
import * as identity from "/views/identity.js";
import * as contacts from "/views/contacts.js";
import * as chat from "/views/chat.js";
import * as ask from "/views/ask.js";
import * as personalContext from "/views/context.js";
import * as firewall from "/views/firewall.js";
import * as backups from "/views/backups.js";
import * as files from "/views/files.js";
import * as channels from "/views/channels.js";
import * as plugins from "/views/plugins.js";
import * as hub from "/views/hub.js";

const $ = (id) => document.getElementById(id);

// routes: the hash names the screen ("#/contacts", "#/chat/NODE_ID").
const routes = [
  { path: /^#?\/?$/, nav: "#/", view: (root) => identity.render(root) },
  { path: /^#\/contacts$/, nav: "#/contacts", view: (root) => contacts.render(root) },
  { path: /^#\/chat\/(dpc-node-[0-9a-f]{32})$/, nav: "#/contacts", view: (root, m) => chat.render(root, m[1]) },
  { path: /^#\/ask$/, nav: "#/ask", view: (root) => ask.render(root) },
  { path: /^#\/context$/, nav: "#/context", view: (root) => personalContext.render(root) },
  { path: /^#\/firewall$/, nav: "#/firewall", view: (root) => firewall.render(root) },
  { path: /^#\/backups$/, nav: "#/backups", view: (root) => backups.render(root) },
  { path: /^#\/files$/, nav: "#/files", view: (root) => files.render(root) },
  { path: /^#\/channels$/, nav: "#/channels", view: (root) => channels.renderList(root) },
  { path: /^#\/channel\/([0-9a-f]{64})$/, nav: "#/channels", view: (root, m) => channels.render(root, m[1]) },
  { path: /^#\/plugins$/, nav: "#/plugins", view: (root) => plugins.render(root) },
  { path: /^#\/hub$/, nav: "#/hub", view: (root) => hub.render(root) },
];

let current = null; // what the shown view returned: onEvent, refresh
let events = null; // the event stream, once logged in

function showError(err) {
  const el = $("error");
  el.textContent = String(err.message || err);
  el.hidden = !err;
}

async function show() {
  showError("");
  const route = routes.find((r) => r.path.test(location.hash)) || routes[0];
  const m = location.hash.match(route.path);
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === route.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const root = $("view");
  try {
    current = (await route.view(root, m)) || null;
  } catch (err) {
    current = null;
    if (err instanceof NotLoggedIn) {
      loggedOut();
      return false;
    }
    showError(err);
  }
  $("view-title")?.focus();
  return true;
}

// loggedOut shows how to log in again instead of the screens.
function loggedOut() {
  current = null;
  $("logout").hidden = true;
  $("view").replaceChildren(); // nothing of the node stays on the page
  $("login").hidden = false;
  $("app").hidden = true;
  $("live").textContent = "not logged in";
  $("live").dataset.state = "logged-out";
}

function setLive(state) {
  $("live").textContent = state === "live" ? "live" : "reconnecting…";
  $("live").dataset.state = state;
}

async function main() {
  window.addEventListener("hashchange", show);
  if (!(await show())) return;
  $("logout").hidden = false;
  $("logout").addEventListener("click", async () => {
    try { await post("/v1/ui/logout"); } catch (err) { if (!(err instanceof NotLoggedIn)) { showError(err); return; } }
    events?.stop();
    loggedOut();
  });
  events = stream((e) => current?.onEvent?.(e), setLive, () => current?.refresh?.(), loggedOut);
}

main();
