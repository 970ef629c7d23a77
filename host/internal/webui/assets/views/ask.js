import { get, lines } from "/api.js";
import { h, shortID } from "/dom.js";

// Ask the AI: the question, a model, the contacts whose shared context goes
// into the prompt. The answer shows as it streams (POST /v1/ask answers
// one event per line, as `dpc ask` reads it), then the sources used and
// the peers left out, and why.

function sourceItem(s) {
  const who = s.own ? `You (AI scope "${s.scope}")` : s.label + (s.cached ? " (cached copy)" : "");
  return h("li", { class: "source", dataset: { node: s.node_id, own: s.own ? "true" : "false" } },
    h("strong", {}, who), ": ",
    s.paths.length ? s.paths.flatMap((p, i) => [i ? ", " : "", h("code", {}, p)]) : "nothing");
}

function missingItem(m) {
  return h("li", { class: "missing", dataset: { node: m.node_id } },
    h("strong", {}, m.name ? `${m.name} (${shortID(m.node_id)})` : m.node_id), ": ", m.reason);
}

export async function render(root) {
  const [models, peers] = await Promise.all([get("/v1/models"), get("/v1/peers")]);
  const contacts = peers.filter((p) => !p.request);

  const question = h("textarea", { id: "ask-question", name: "question", rows: 3, required: true,
    placeholder: "What should I cook tonight?" });
  const model = h("select", { id: "ask-model", name: "model" },
    h("option", { value: "" }, "Default model"),
    models.map((m) => h("option", { value: `${m.provider}/${m.ID}` }, `${m.DisplayName || m.ID} (${m.provider})`)));
  const peerBoxes = contacts.map((p) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "peer", value: p.node_id, dataset: { node: p.node_id } }),
    ` ${p.name || shortID(p.node_id)}`,
    p.state === "connected" ? "" : h("small", { class: "muted" }, ` (${p.state})`)));
  const submit = h("button", { type: "submit", id: "ask-submit" }, "Ask");
  const stop = h("button", { type: "button", id: "ask-stop", class: "secondary", hidden: true }, "Stop");

  const status = h("p", { id: "ask-status", role: "status", class: "hint" });
  const notices = h("ul", { id: "ask-notices", class: "notices" });
  const answer = h("div", { id: "ask-answer", class: "answer", "aria-live": "polite", "aria-busy": "false" });
  const sources = h("ul", { id: "ask-sources" });
  const missing = h("ul", { id: "ask-missing" });
  const summary = h("p", { id: "ask-summary", class: "hint" });
  const result = h("section", { id: "ask-result", "aria-labelledby": "ask-answer-title", hidden: true },
    h("h3", { id: "ask-answer-title" }, "Answer"), notices, answer,
    h("h3", {}, "Sources used"), sources,
    h("h3", {}, "Peers left out"), missing, summary);

  let running = null; // the AbortController of the ask in progress
  stop.addEventListener("click", () => running?.abort());

  const form = h("form", { id: "ask-form", class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const q = question.value.trim();
      if (!q) {
        status.textContent = "Write a question first.";
        return;
      }
      const req = { question: q, model: model.value || undefined,
        peers: [...form.querySelectorAll('input[name="peer"]:checked')].map((i) => i.value) };
      for (const el of [notices, answer, sources, missing]) el.replaceChildren();
      summary.textContent = "";
      result.hidden = false;
      answer.dataset.state = "streaming";
      answer.setAttribute("aria-busy", "true");
      status.textContent = req.peers.length ? "asking your peers for their context…" : "asking…";
      submit.disabled = true;
      stop.hidden = false;
      running = new AbortController();
      let failed = "";
      let done = null;
      try {
        await lines("/v1/ask", req, (ev) => {
          switch (ev.type) {
            case "notice": notices.append(h("li", {}, ev.text)); break;
            case "source": sources.append(sourceItem(ev.source)); break;
            case "missing": missing.append(missingItem(ev.missing)); break;
            case "delta":
              status.textContent = "answering…";
              answer.append(ev.text);
              break;
            case "done": done = ev.done; break;
            case "error": failed = ev.text; break;
          }
        }, running.signal);
      } catch (err) {
        failed = err.name === "AbortError" ? "stopped" : err.message;
      }
      running = null;
      submit.disabled = false;
      stop.hidden = true;
      answer.setAttribute("aria-busy", "false");
      if (!sources.children.length) sources.append(h("li", {}, "None: the prompt held no context."));
      if (!missing.children.length) missing.append(h("li", {}, "None."));
      if (done) {
        answer.dataset.state = "done";
        status.textContent = "done";
        summary.textContent = `Model ${done.provider}/${done.model}${done.on ? ` on ${done.on}` : ""}: ` +
          `${done.prompt_tokens} prompt tokens, ${done.completion_tokens} answer tokens.`;
      } else {
        answer.dataset.state = "failed";
        status.textContent = `No answer: ${failed || "the node ended the answer early (see its log)"}`;
      }
    } },
    h("label", { for: "ask-question" }, "Question"), question,
    h("label", { for: "ask-model" }, "Model"), model,
    h("fieldset", { id: "ask-peers" },
      h("legend", {}, "Include the context these contacts share with you"),
      peerBoxes.length ? peerBoxes : h("p", { class: "hint" }, "No contacts yet.")),
    h("div", { class: "buttons" }, submit, stop));

  root.replaceChildren(
    h("h2", { id: "view-title", tabindex: -1 }, "Ask the AI"),
    h("p", { class: "hint" }, "Your own context goes in through the AI scope \"default\" of your firewall; each contact you tick adds only what its firewall shares with you."),
    form, status, result);
}
