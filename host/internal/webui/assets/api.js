// The node's local API, from a page it served: same origin, the browser
// session cookie goes along by itself.

export class NotLoggedIn extends Error {}

async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) throw new NotLoggedIn("not logged in: run `dpc ui` for a new login link");
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `${method} ${path}: HTTP ${res.status}`);
  return data;
}

// get fetches a JSON document; a 401 is NotLoggedIn, other failures throw
// with the API's own message.
export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});
export const del = (path) => call("DELETE", path);

// stream follows the node's event stream, reconnecting by itself (backing
// off to 10 s), and reports its state to onState ("live", "reconnecting").
// onReconnect runs after a reconnection, for views to catch up on what
// they missed meanwhile.
export function stream(onEvent, onState, onReconnect) {
  let delay = 500;
  let opened = false;
  const open = () => {
    const ws = new WebSocket(`ws://${location.host}/v1/stream`);
    ws.onopen = () => {
      delay = 500;
      onState("live");
      if (opened) onReconnect();
      opened = true;
    };
    ws.onmessage = (m) => {
      try { onEvent(JSON.parse(m.data)); } catch (e) { console.error("event", e); }
    };
    ws.onclose = () => {
      onState("reconnecting");
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
}
