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
// they missed meanwhile. When the node answers again but no longer knows
// this browser (it restarted: sessions end with the node), onLoggedOut
// runs and the stream stops.
export function stream(onEvent, onState, onReconnect, onLoggedOut) {
  let delay = 500;
  let opened = false;
  let stopped = false;
  let ws = null;
  const open = () => {
    if (stopped) return;
    ws = new WebSocket(`ws://${location.host}/v1/stream`);
    ws.onopen = () => {
      delay = 500;
      onState("live");
      if (opened) onReconnect();
      opened = true;
    };
    ws.onmessage = (m) => {
      try { onEvent(JSON.parse(m.data)); } catch (e) { console.error("event", e); }
    };
    ws.onclose = async () => {
      if (stopped) return;
      onState("reconnecting");
      try {
        const res = await fetch("/v1/node", { credentials: "same-origin" });
        if (res.status === 401) {
          onLoggedOut();
          return;
        }
      } catch (e) {
        // The node does not answer yet: try again.
      }
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
  // The caller stops it (logging out): no reconnection after.
  return { stop() { stopped = true; ws?.close(); } };
}

// send is for calls whose refusals the view shows itself (a 400 with
// diagnostics, a 409 conflict): it answers {status, data} for every
// status but 401, which is NotLoggedIn.
export async function send(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) throw new NotLoggedIn("not logged in: run `dpc ui` for a new login link");
  const data = await res.json().catch(() => ({ error: `${method} ${path}: HTTP ${res.status}` }));
  return { status: res.status, data };
}

// lines posts body and calls onLine with each line of a newline-delimited
// JSON answer (application/x-ndjson) as it arrives, parsed; it resolves
// when the answer ends. A refusal before the answer starts throws with
// the API's message.
export async function lines(path, body, onLine, signal) {
  const res = await fetch(path, { method: "POST", credentials: "same-origin", signal,
    headers: { "Content-Type": "application/json", Accept: "application/x-ndjson" }, body: JSON.stringify(body) });
  if (res.status === 401) throw new NotLoggedIn("not logged in: run `dpc ui` for a new login link");
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new Error(data.error || `POST ${path}: HTTP ${res.status}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onLine(JSON.parse(line));
    }
  }
  if (buf.trim()) onLine(JSON.parse(buf));
}
