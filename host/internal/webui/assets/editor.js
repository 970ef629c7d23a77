import { h } from "/dom.js";

// What the file editors (personal context, firewall) share: problems shown
// next to the text with their line:column, each a button that puts the
// cursor there; and a wait that restarts on every keystroke.

// offsetOf is the index in text of 1-based line and column (columns count
// characters, as the node reports them).
function offsetOf(text, line, column) {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return Math.min(text.length, off + Math.max(0, column - 1));
}

// showDiagnostics fills list with diags ({line, column, message}) about
// the text of textarea; none leaves it empty.
export function showDiagnostics(list, textarea, diags) {
  list.replaceChildren(...(diags || []).map((d) => h("li", { class: "diag", dataset: { line: d.line, column: d.column } },
    d.line
      ? h("button", { type: "button", class: "link", onclick: () => {
          const at = offsetOf(textarea.value, d.line, d.column);
          textarea.focus();
          textarea.setSelectionRange(at, at);
        } }, `line ${d.line}, column ${d.column}`)
      : null,
    d.line ? ": " : "", d.message)));
  textarea.setAttribute("aria-invalid", diags && diags.length ? "true" : "false");
}

// debounce runs fn once ms passed without another call; cancel() drops a
// run still waiting (a save makes it moot).
export function debounce(fn, ms) {
  let timer = 0;
  const later = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  later.cancel = () => clearTimeout(timer);
  return later;
}

// showSaved shows what the PUT of an edited file answered: saved (onSaved
// gets the new file; savedText says what that means), refused with
// problems (listed next to the editor), a conflict (reload offers the
// newest version; the text stays), or another error.
export function showSaved(r, { status, diags, textarea, reload, savedText, onSaved }) {
  if (r.status === 200) {
    onSaved(r.data);
    showDiagnostics(diags, textarea, []);
    status.textContent = savedText;
    status.dataset.state = "saved";
  } else if (r.status === 400 && r.data.diagnostics) {
    showDiagnostics(diags, textarea, r.data.diagnostics);
    status.textContent = "not saved: see the problems below the editor";
    status.dataset.state = "invalid";
  } else if (r.status === 409) {
    status.textContent = `not saved: ${r.data.error}. Your text stays here until you load the newest version.`;
    status.dataset.state = "conflict";
    reload.hidden = false;
  } else {
    status.textContent = `not saved: ${r.data.error}`;
    status.dataset.state = "failed";
  }
}
