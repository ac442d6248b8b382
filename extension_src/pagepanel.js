// Shows Keypool's result on the page, in a panel the person can dismiss.
// Injected with chrome.scripting.executeScript({func: showKeypoolPanel, args}):
// the function is serialized, so it must be self-contained plain JS. It runs
// in the extension's isolated world, into the one document that was analyzed
// (glue/analyze.py pins it by documentId).
//
// What the panel protects, and what it does not (README "Security model"):
// - Its texts are never DOM text. They live in a stylesheet inside a closed
//   shadow root and are drawn as CSS generated content, so the page's
//   scripts cannot read them through the DOM, window.find() or the Selection
//   API (a closed shadow root alone stops none of the last two), and page
//   find and copy do not reach them.
// - The host element's own styles are inline and !important, so page CSS
//   cannot hide it by a selector; page CSS never reaches inside the root.
// - It is still drawn in the page's document: the page's scripts can remove
//   or cover it, and can draw a fake panel. It is a convenience, not a
//   trusted display; the popup is.
export function showKeypoolPanel(title, text, level) {
  const HOST_ID = 'keypool-result-panel';
  // A CSS string literal holding any text: everything but letters, digits and
  // spaces becomes a hex escape, so no text can end the string or the rule.
  const cssString = (s) => '"' + Array.from(String(s), (ch) => (
    /[A-Za-z0-9 ]/.test(ch) ? ch : '\\' + ch.codePointAt(0).toString(16) + ' ')).join('') + '"';
  const old = document.getElementById(HOST_ID);
  if (old) old.remove();
  const host = document.createElement('div');
  host.id = HOST_ID;
  const hostStyle = {all: 'initial', display: 'block', position: 'fixed', 'z-index': '2147483647',
                     top: '16px', right: '16px', visibility: 'visible', opacity: '1',
                     transform: 'none', filter: 'none', 'clip-path': 'none'};
  for (const [prop, value] of Object.entries(hostStyle)) host.style.setProperty(prop, value, 'important');
  const root = host.attachShadow({mode: 'closed'});
  const style = document.createElement('style');
  style.textContent = `
    .panel { font: 14px/1.45 system-ui, sans-serif; width: 360px; max-height: 60vh; overflow: auto;
             background: #fff; color: #1b1f24; border: 1px solid #d0d7de; border-radius: 10px;
             box-shadow: 0 8px 24px rgba(0,0,0,.2); padding: 12px 14px;
             user-select: none; -webkit-user-select: none; }
    .head { display: flex; align-items: center; justify-content: space-between; gap: 8px;
            font-weight: 600; margin-bottom: 6px; }
    .title::before { content: ${cssString(title)}; }
    .body::before { content: ${cssString(text)}; white-space: pre-wrap; }
    .body { word-wrap: break-word; }
    .error .head { color: #b42318; }
    button { all: unset; cursor: pointer; font-size: 18px; line-height: 1; padding: 2px 6px;
             border-radius: 6px; color: inherit; }
    button::before { content: "\\d7"; }
    button:focus-visible { outline: 2px solid #0969da; }
    @media (prefers-color-scheme: dark) {
      .panel { background: #1f2328; color: #e6edf3; border-color: #3d444d; }
      .error .head { color: #ff7b72; }
    }`;
  const panel = document.createElement('div');
  panel.className = 'panel' + (level === 'error' ? ' error' : '');
  panel.setAttribute('role', level === 'error' ? 'alert' : 'status');
  const head = document.createElement('div');
  head.className = 'head';
  const titleEl = document.createElement('span');
  titleEl.className = 'title';
  const close = document.createElement('button');
  close.setAttribute('aria-label', 'Dismiss Keypool result');
  close.addEventListener('click', () => host.remove());
  head.append(titleEl, close);
  const body = document.createElement('div');
  body.className = 'body';
  panel.append(head, body);
  root.append(style, panel);
  document.documentElement.append(host);
  document.addEventListener('keydown', function onKey(e) {
    if (e.key === 'Escape') { host.remove(); document.removeEventListener('keydown', onKey); }
  });
  return true;
}

// Injected when the person acts (context menu, shortcut): its InjectionResult
// names the document they acted on, so the answer goes to that document only.
export function keypoolMarkDocument() {
  return true;
}
