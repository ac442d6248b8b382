// Functions that glue/analyze.py injects with chrome.scripting.executeScript({func}).
// Each is serialized, so it must be self-contained plain JS. They run in the
// extension's isolated world of the one document that was analyzed.

// Draw the panel with js/panel.js, injected just before (files: [...]).
// state: {title, subject, text, level, markdown}; see panel.js.
export function showKeypoolPanel(state) {
  const panel = globalThis.__keypoolPanel;
  return panel ? panel.show(state) : false;
}

// Injected when the person acts (context menu, shortcut): its InjectionResult
// names the document they acted on, so the answer goes to that document only.
export function keypoolMarkDocument() {
  return true;
}
