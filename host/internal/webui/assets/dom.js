// h builds an element: h("p", {class: "x", onclick: fn}, "text", child…).
// Text is always set as text, never parsed as HTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// shortID shows the start of a node_id, for places where the whole one
// does not fit; the whole one is in the title.
export const shortID = (id) => (id || "").replace(/^dpc-node-/, "").slice(0, 8);

export function when(t) {
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleString();
}
