// The node's local API, from a page it served: same origin, the browser
// session cookie goes along by itself.

export class NotLoggedIn extends Error {}

// get fetches a JSON document; a 401 is NotLoggedIn, other failures throw
// with the API's own message.
export async function get(path) {
  const res = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (res.status === 401) throw new NotLoggedIn("not logged in");
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `${path}: HTTP ${res.status}`);
  return body;
}

// stream follows the node's event stream, reconnecting by itself (backing
// off to 10 s), and reports its state to onState ("live", "reconnecting").
export function stream(onEvent, onState) {
  let delay = 500;
  const open = () => {
    const ws = new WebSocket(`ws://${location.host}/v1/stream`);
    ws.onopen = () => { delay = 500; onState("live"); };
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
