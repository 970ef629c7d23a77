import { get } from "/api.js";
import { h } from "/dom.js";

// The first-run screen: who this node is, to give to a contact.
export async function render(root) {
  const node = await get("/v1/node");
  const uris = node.uris || [];
  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "This node"),
    h("dl", {},
      h("dt", {}, "Name"), h("dd", { id: "node-name" }, node.name || "(no name: set node.name in dpc.hcl)"),
      h("dt", {}, "Node id"), h("dd", {}, h("code", { id: "node-id" }, node.node_id)),
      h("dt", {}, "Fingerprint"),
      h("dd", {}, h("code", { id: "fingerprint" }, node.fingerprint),
        h("p", { class: "hint" }, "Compare it with your contact out of band (in person, on a call) before you trust them.")),
      h("dt", {}, "Addresses"),
      h("dd", {}, h("ul", { id: "addresses" },
        uris.length ? uris.map((u) => h("li", {}, h("code", {}, u))) : h("li", {}, "none: no transport listens")))),
    h("figure", {},
      h("img", { id: "qr", src: "/v1/node/qr.svg", width: 200, height: 200, alt: "QR code of this node's dpc:// address" }),
      h("figcaption", {}, "Scan to add this node as a contact.")),
  );
}
