// The on-page panel: js/panel.js, injected into the analyzed document's
// isolated world with chrome.scripting.executeScript({files}) (glue/analyze.py),
// then driven by showKeypoolPanel (pagepanel.js). Bundled on its own with
// markdown-it, so that the parser never weighs on the service worker.
//
// What the panel protects, and what it does not (README "Security model"):
// - Its texts are never DOM text. They live in a stylesheet inside a closed
//   shadow root and are drawn as CSS generated content (one rule per text
//   run), so the page's scripts cannot read them through the DOM,
//   window.find() or the Selection API, and page find and copy do not reach
//   them. The answer's structure (headings, lists, tables, links) is built
//   from markdown-it's tokens (mdrender.js): never innerHTML.
// - The host element's own styles are inline and !important, so page CSS
//   cannot hide it by a selector; page CSS never reaches inside the root.
// - It is still drawn in the page's document: the page's scripts can remove
//   or cover it, and can draw a fake panel. It is a convenience, not a
//   trusted display; the popup is.
import {parseMarkdown, renderTokens} from './mdrender.js';

const HOST_ID = 'keypool-result-panel';

// A CSS string literal holding any text: everything but letters, digits and
// spaces becomes a hex escape, so no text can end the string or the rule.
const cssString = (s) => '"' + Array.from(String(s), (ch) => (
  /[A-Za-z0-9 ]/.test(ch) ? ch : '\\' + ch.codePointAt(0).toString(16) + ' ')).join('') + '"';

const BASE_CSS = `
  .panel { font: 14px/1.45 system-ui, sans-serif; width: 380px; max-height: 70vh; overflow: auto;
           background: #fff; color: #1b1f24; border: 1px solid #d0d7de; border-radius: 10px;
           box-shadow: 0 8px 24px rgba(0,0,0,.2); padding: 12px 14px;
           user-select: none; -webkit-user-select: none; }
  .head { display: flex; align-items: center; justify-content: space-between; gap: 8px;
          font-weight: 600; margin-bottom: 2px; }
  .subject { color: #57606a; font-size: 12px; margin-bottom: 6px; }
  .body { word-wrap: break-word; }
  .body h1, .body h2, .body h3, .body h4, .body h5, .body h6 { font-size: 15px; margin: 10px 0 4px; }
  .body p { margin: 4px 0; } .body ul, .body ol { margin: 4px 0; padding-left: 20px; }
  .body pre { background: #f6f8fa; padding: 6px 8px; border-radius: 6px; overflow: auto; }
  .body code { font-family: ui-monospace, monospace; font-size: 12.5px; }
  .body table { border-collapse: collapse; margin: 6px 0; }
  .body th, .body td { border: 1px solid #d0d7de; padding: 2px 6px; text-align: left; }
  .body a { color: #0969da; }
  .t { white-space: pre-wrap; }
  .error .head { color: #b42318; }
  button { all: unset; cursor: pointer; font-size: 18px; line-height: 1; padding: 2px 6px;
           border-radius: 6px; color: inherit; }
  button::before { content: "\\d7"; }
  button:focus-visible { outline: 2px solid #0969da; }
  @media (prefers-color-scheme: dark) {
    .panel { background: #1f2328; color: #e6edf3; border-color: #3d444d; }
    .subject { color: #9ea7b3; }
    .body pre { background: #2d333b; } .body th, .body td { border-color: #3d444d; }
    .body a { color: #6cb6ff; }
    .error .head { color: #ff7b72; }
  }`;

// state: {title, subject, text, level ('info' | 'success' | 'error'), markdown}
function show(state) {
  const old = document.getElementById(HOST_ID);
  if (old) old.remove();
  const host = document.createElement('div');
  host.id = HOST_ID;
  const hostStyle = {all: 'initial', display: 'block', position: 'fixed', 'z-index': '2147483647',
                     top: '16px', right: '16px', visibility: 'visible', opacity: '1',
                     transform: 'none', filter: 'none', 'clip-path': 'none'};
  for (const [prop, value] of Object.entries(hostStyle)) host.style.setProperty(prop, value, 'important');
  const root = host.attachShadow({mode: 'closed'});
  const rules = [];
  // Each text run: an empty span whose ::before draws it.
  const addText = (node, text) => {
    const span = document.createElement('span');
    const name = 't' + rules.length;
    span.className = 't ' + name;
    rules.push(`.${name}::before { content: ${cssString(text)}; }`);
    node.append(span);
  };
  const panel = document.createElement('div');
  panel.className = 'panel' + (state.level === 'error' ? ' error' : '');
  panel.setAttribute('role', state.level === 'error' ? 'alert' : 'status');
  const head = document.createElement('div');
  head.className = 'head';
  const titleEl = document.createElement('span');
  addText(titleEl, state.title);
  const close = document.createElement('button');
  close.setAttribute('aria-label', 'Dismiss Keypool result');
  close.addEventListener('click', () => host.remove());
  head.append(titleEl, close);
  const subject = document.createElement('div');
  subject.className = 'subject';
  if (state.subject) addText(subject, state.subject);
  const body = document.createElement('div');
  body.className = 'body';
  if (state.markdown) renderTokens(parseMarkdown(state.text), body, addText, 3);
  else addText(body, state.text);
  panel.append(head, subject, body);
  const style = document.createElement('style');
  style.textContent = BASE_CSS + '\n' + rules.join('\n');
  root.append(style, panel);
  shown = {state, body, rules: rules.length};
  document.documentElement.append(host);
  document.addEventListener('keydown', function onKey(e) {
    if (e.key === 'Escape') { host.remove(); document.removeEventListener('keydown', onKey); }
  });
  return true;
}

// What the panel shows, for the e2e tests. Only this extension's isolated world
// can call it: the page's scripts see neither this global nor the closed root.
let shown = null;
function inspect() {
  if (!shown || !shown.body.isConnected) return null;
  const tags = Array.from(shown.body.querySelectorAll('*'), (n) => n.tagName.toLowerCase());
  const links = Array.from(shown.body.querySelectorAll('a'), (a) => a.getAttribute('href'));
  return {state: shown.state, tags, links, texts: shown.rules};
}

globalThis.__keypoolPanel = {show, inspect};
