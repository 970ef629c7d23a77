import { get, stream, NotLoggedIn } from "/api.js";

const $ = (id) => document.getElementById(id);

function showError(err) {
  $("error").textContent = String(err.message || err);
  $("error").hidden = false;
}

function setLive(state) {
  $("live").textContent = state === "live" ? "live" : "reconnecting…";
  $("live").dataset.state = state;
}

async function showIdentity() {
  const node = await get("/v1/node");
  $("node-name").textContent = node.name || "(no name: set node.name in dpc.hcl)";
  $("node-id").textContent = node.node_id;
  $("fingerprint").textContent = node.fingerprint;
  const list = $("addresses");
  list.replaceChildren();
  for (const uri of node.uris || []) {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = uri;
    li.append(code);
    list.append(li);
  }
  if (!list.children.length) {
    const li = document.createElement("li");
    li.textContent = "none: no transport listens";
    list.append(li);
  }
  $("qr").src = "/v1/node/qr.svg";
  $("identity").hidden = false;
}

async function main() {
  try {
    await showIdentity();
  } catch (err) {
    if (err instanceof NotLoggedIn) {
      $("login").hidden = false;
      $("live").textContent = "not logged in";
      return;
    }
    showError(err);
    return;
  }
  stream(() => {}, setLive);
}

main();
