// Shows Keypool's result on the page, in a panel the person can dismiss.
// Injected with chrome.scripting.executeScript({func: showKeypoolPanel, args}):
// the function is serialized, so it must be self-contained plain JS. It runs
// in the page's isolated world; a closed shadow root keeps the page's styles
// and scripts out, and every text is set with textContent (never HTML).
export function showKeypoolPanel(title, text, level) {
  const HOST_ID = 'keypool-result-panel';
  const old = document.getElementById(HOST_ID);
  if (old) old.remove();
  const host = document.createElement('div');
  host.id = HOST_ID;
  host.style.cssText = 'all: initial; position: fixed; z-index: 2147483647; top: 16px; right: 16px;';
  const root = host.attachShadow({mode: 'closed'});
  const style = document.createElement('style');
  style.textContent = `
    .panel { font: 14px/1.45 system-ui, sans-serif; width: 360px; max-height: 60vh; overflow: auto;
             background: #fff; color: #1b1f24; border: 1px solid #d0d7de; border-radius: 10px;
             box-shadow: 0 8px 24px rgba(0,0,0,.2); padding: 12px 14px; }
    .head { display: flex; align-items: center; justify-content: space-between; gap: 8px;
            font-weight: 600; margin-bottom: 6px; }
    .body { white-space: pre-wrap; word-wrap: break-word; }
    .error .head { color: #b42318; }
    button { all: unset; cursor: pointer; font-size: 18px; line-height: 1; padding: 2px 6px;
             border-radius: 6px; color: inherit; }
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
  titleEl.textContent = title;
  const close = document.createElement('button');
  close.textContent = '×';
  close.setAttribute('aria-label', 'Dismiss Keypool result');
  close.addEventListener('click', () => host.remove());
  head.append(titleEl, close);
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = text;
  panel.append(head, body);
  root.append(style, panel);
  document.documentElement.append(host);
  document.addEventListener('keydown', function onKey(e) {
    if (e.key === 'Escape') { host.remove(); document.removeEventListener('keydown', onKey); }
  });
  return true;
}
