// Answers rendered from markdown, safe by construction (issue 9).
//
// markdown-it parses (raw HTML off); DOM nodes are built here from its token
// stream, one element per token from a fixed list of tags. Provider text
// only ever becomes text (through addText), never markup: nothing here
// touches innerHTML, and an attribute is set only for a link's address,
// after checking it is http(s). Raw HTML stays text, images stay their alt
// text, any other link stays its text.
//
// Used by the popup (text nodes) and by the on-page panel (js/panel.js,
// whose texts are CSS generated content): both pass their own addText.
// Transcrypt reads a JS line that starts with `import` as one of its own modules
// (and fails on markdown-it): the comment in front leaves this one to esbuild.
/* npm */ import MarkdownIt from 'markdown-it';

const md = new MarkdownIt('default', {html: false, linkify: false, typographer: false});

// token.tag -> the element built for it; anything else becomes a <span>.
const BLOCK_TAGS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li',
  'blockquote', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'em', 'strong', 's', 'code']);
export const MAX_ANSWER_CHARS = 20000;  // a runaway answer is cut, not laid out whole

export function parseMarkdown(text) {
  return md.parse(String(text).slice(0, MAX_ANSWER_CHARS), {});
}

// Is href a link that may be opened? http(s) only: no javascript:, data:, file:...
export function isSafeHref(href) {
  return typeof href === 'string' && /^https?:\/\/[^\s]+$/i.test(href.trim());
}

// Build the tokens under parent. The answer's highest heading becomes
// h<headingBase> and the others follow it, so the answer's outline sits under
// the page's own headings without skipping a level (axe: heading-order).
export function renderTokens(tokens, parent, addText, headingBase = 3) {
  const doc = parent.ownerDocument;
  const levels = tokens.filter((t) => t.type === 'heading_open').map((t) => Number(t.tag[1]));
  const headingShift = levels.length ? headingBase - Math.min(...levels) : 0;
  const stack = [parent];
  const top = () => stack[stack.length - 1];
  const open = (tag, token) => {
    let name = BLOCK_TAGS.has(tag) ? tag : 'span';
    if (/^h[1-6]$/.test(name)) name = 'h' + Math.min(6, Math.max(1, Number(name[1]) + headingShift));
    const node = doc.createElement(name);
    top().append(node);
    stack.push(node);
    return node;
  };
  const close = () => { if (stack.length > 1) stack.pop(); };
  const inline = (children) => {
    for (const t of children || []) {
      switch (t.type) {
        case 'text': case 'html_inline': addText(top(), t.content); break;
        case 'softbreak': addText(top(), '\n'); break;
        case 'hardbreak': top().append(doc.createElement('br')); break;
        case 'code_inline': { const c = open('code'); addText(c, t.content); close(); break; }
        case 'image': addText(top(), '[image' + (t.content ? ': ' + t.content : '') + ']'); break;
        case 'link_open': {
          const href = t.attrGet('href');
          if (isSafeHref(href)) {
            const a = doc.createElement('a');
            a.setAttribute('href', href.trim());
            a.setAttribute('target', '_blank');
            a.setAttribute('rel', 'noopener noreferrer');
            top().append(a);
            stack.push(a);
          } else {
            open('span');
          }
          break;
        }
        case 'link_close': close(); break;
        default:
          if (t.nesting === 1) open(t.tag, t);
          else if (t.nesting === -1) close();
          else if (t.content) addText(top(), t.content);
      }
    }
  };
  for (const t of tokens) {
    if (t.type === 'inline') inline(t.children);
    else if (t.type === 'fence' || t.type === 'code_block') {
      const pre = doc.createElement('pre');
      const code = doc.createElement('code');
      pre.append(code);
      top().append(pre);
      addText(code, t.content.replace(/\n$/, ''));
    } else if (t.type === 'hr') top().append(doc.createElement('hr'));
    else if (t.type === 'html_block') { const p = open('p'); addText(p, t.content); close(); }
    else if (t.nesting === 1) open(t.tag, t);
    else if (t.nesting === -1) close();
  }
  return parent;
}

// The popup's way: plain text nodes.
export function renderMarkdownInto(text, parent, headingBase) {
  parent.replaceChildren();
  return renderTokens(parseMarkdown(text), parent,
    (node, s) => node.append(parent.ownerDocument.createTextNode(s)), headingBase);
}
