"""The popup's analysis: the form (address, optional question), the answer, history.

The answer is markdown from the provider, rendered from markdown-it's tokens
(mdrender.js: text nodes only, never innerHTML). A new result is announced
once, in its own live region; focus moves to it after Analyze.
"""

from core.contract import MSG_ANALYZE_IMAGE, MSG_ANALYZE_TAB
from mdrender import renderMarkdownInto
from ui import dom, fmt

PERMISSION_HINT_DELAY_MS = 300  # say "waiting for your answer" only if Chrome really asks
COPIED_SHOWN_MS = 1500
HISTORY_SHOWN = 10
HEADING_BASE = 3                 # the answer's top heading is an h3, under the popup's h2


def value_or_none(obj, key):
    value = obj[key] if obj != None else None
    return None if value == None else value


def is_valid_url(raw):
    try:
        __new__(URL(raw))
    except Exception:
        return False
    return True


def image_url_problem(raw):
    """Why raw cannot be analyzed, or None."""
    if len(raw) == 0:
        return 'Enter the address of an image, or use "Analyze this tab".'
    lower = raw.lower()
    if lower.startswith('data:'):
        if not lower.startswith('data:image/'):
            return 'That data: address is not an image.'
        return None
    if not (lower.startswith('http://') or lower.startswith('https://')):
        return 'Use an http://, https:// or data:image address.'
    if not is_valid_url(raw) or fmt.origin_pattern(raw) == None:
        return 'That is not a valid address.'
    return None


class Analysis:
    def __init__(self, page):
        self.page = page            # the popup: no_server(), run(promise), focus_no_server()
        self.analyzing = False
        self.last = None
        self.announced_at = None
        self.rendered_key = None
        self.history = []

    # -- controls ---------------------------------------------------------

    def message(self, text, level):
        dom.set_message(dom.by_id('analyze-message'), text, level)

    def set_running(self, running):
        """While an analysis runs, no second one can start (issue 9)."""
        self.analyzing = running
        for element_id in ['analyze-url', 'analyze-tab']:
            button = dom.by_id(element_id)
            if running:
                dom.set_busy(button, True, 'Analyzing…' if element_id == 'analyze-url' else None)
            else:
                dom.set_busy(button, False)
        dom.by_id('image-url').readOnly = running
        dom.by_id('question').readOnly = running

    def question(self):
        return dom.by_id('question').value.strip()

    def on_submit(self, event):
        """Check the address, ask for the host permission (in the gesture), then analyze."""
        event.preventDefault()
        if self.analyzing:
            return None
        field = dom.by_id('image-url')
        raw = field.value.strip()
        problem = image_url_problem(raw)
        if problem != None:
            field.setAttribute('aria-invalid', 'true')
            self.message(problem, 'error')
            field.focus()
            return None
        field.removeAttribute('aria-invalid')
        pattern = fmt.origin_pattern(raw)
        granted = Promise.resolve(True)
        if pattern != None:
            # No await before this line: Chrome shows its prompt only during the click.
            try:
                granted = chrome.permissions.request({'origins': [pattern]})
            except Exception as e:
                console.warn('[keypool] permission request failed:', str(e))
        self.page.run(self.analyze_url(raw, granted))
        return None

    async def analyze_url(self, raw, granted):
        self.set_running(True)
        host = fmt.host_of(raw)
        hint = setTimeout(lambda: self.message(
            'Chrome is asking whether Keypool may read images from ' + host + '…', 'info'),
            PERMISSION_HINT_DELAY_MS)
        try:
            try:
                allowed = await granted
            except Exception as e:
                console.warn('[keypool] permission request failed:', str(e))
                allowed = True  # let the worker check and explain
            clearTimeout(hint)
            if not allowed:
                self.message('Keypool may not read images from ' + host + ', so it cannot '
                             'download this one. Click Analyze again and choose Allow, or '
                             'open the image in a tab and use "Analyze this tab".', 'error')
                dom.by_id('image-url').focus()
                return None
            self.message(None, 'info')
            request = {'type': MSG_ANALYZE_IMAGE, 'imageUrl': raw}
            if len(self.question()) > 0:
                request['question'] = self.question()
            answer = await dom.send(request)
        finally:
            clearTimeout(hint)
            self.set_running(False)
        self.after(answer, dom.by_id('image-url'))
        return None

    async def on_tab(self, event):
        await self.analyze_tab(False)
        return None

    async def on_consent(self, event):
        dom.by_id('consent').hidden = True
        await self.analyze_tab(True)
        return None

    def on_consent_no(self, event):
        dom.by_id('consent').hidden = True
        dom.by_id('analyze-tab').focus()

    async def analyze_tab(self, consent):
        if self.analyzing:
            return None
        self.set_running(True)
        self.message(None, 'info')
        request = {'type': MSG_ANALYZE_TAB}
        if consent:
            request['consent'] = True
        if len(self.question()) > 0:
            request['question'] = self.question()
        try:
            answer = await dom.send(request)
        finally:
            self.set_running(False)
        self.after(answer, dom.by_id('analyze-tab'))
        return None

    def after(self, answer, fallback_focus):
        """Where the person is taken after an analysis: the answer, the fix, or the field."""
        if answer['needsConsent'] == True:
            # The first analysis of this tab: the person says yes first (once per tab).
            dom.by_id('consent').hidden = False
            dom.by_id('consent-yes').focus()
            return None
        if answer['ok']:
            self.message(None, 'info')
            dom.by_id('last-title').focus()
            return None
        if self.page.no_server():
            # One message says it (the status line, with its buttons): not a second copy here.
            self.message(None, 'info')
            self.page.focus_no_server()
            return None
        self.message(answer['error'], 'error')
        fallback_focus.focus()
        return None

    # -- the answer ---------------------------------------------------------

    def set_last(self, last):
        self.last = last
        at = value_or_none(last, 'at')
        if at != None and self.announced_at != None and at != self.announced_at:
            self.announce(last)
        if self.announced_at == None or at != None:
            self.announced_at = at if at != None else 0
        self.render_last()

    def announce(self, last):
        """Say a new result once (its own live region; the answer's box is not live)."""
        error = value_or_none(last, 'error')
        if error != None:
            text = 'Analysis failed.'
        else:
            text = 'Analysis ready: ' + str(value_or_none(last, 'text'))[:140]
        dom.set_text(dom.by_id('announce'), text)

    def render_last(self):
        last = self.last
        section = dom.by_id('last')
        if last == None:
            section.hidden = True
            return None
        section.hidden = False
        url = value_or_none(last, 'imageUrl')
        error = value_or_none(last, 'error')
        thumb = dom.by_id('last-thumb')
        tab_box = dom.by_id('last-tab')
        if url == 'tab':
            thumb.hidden = True
            tab_box.hidden = False
        elif fmt.is_thumbnail_url(url) and error == None:
            # Only an image Keypool loaded: a failed address may be a key server's
            # (core.image), and an <img> would fetch it again at every open.
            if thumb.getAttribute('src') != url:
                thumb.src = url  # http(s) and data:image only: never javascript: or others
            thumb.hidden = False
            tab_box.hidden = True
        else:
            thumb.hidden = True
            tab_box.hidden = True
        text_node = dom.by_id('last-text')
        key = str(value_or_none(last, 'at')) + (error if error != None else '')
        parts = []
        if url == 'tab':
            parts.append('Screenshot of a tab')
        if error != None:
            text_node.setAttribute('data-level', 'error')
            if self.page.no_server():
                # The status line says it, with what to do: no second copy here.
                dom.set_text(text_node, 'No key server answered (see above).')
            else:
                dom.set_text(text_node, error)
            self.rendered_key = None
            parts.append('Failed')
            dom.by_id('copy').hidden = True
        else:
            text_node.removeAttribute('data-level')
            if self.rendered_key != key:
                self.rendered_key = key
                renderMarkdownInto(value_or_none(last, 'text') or '', text_node, HEADING_BASE)
            server = value_or_none(last, 'server')
            if server != None:
                parts.append('Key from ' + fmt.host_of(server))
            dom.by_id('copy').hidden = False
        age = fmt.ago_text(value_or_none(last, 'at'), Date.now())
        if len(age) > 0:
            parts.append(age)
        dom.set_text(dom.by_id('last-meta'), ' · '.join(parts))
        self.update_expand()
        return None

    def update_expand(self):
        """Offer "Show all" only when the answer is cut by its box."""
        box = dom.by_id('last-text')
        button = dom.by_id('expand')
        expanded = box.classList.contains('expanded')
        button.hidden = not expanded and box.scrollHeight <= box.clientHeight + 2
        button.setAttribute('aria-expanded', 'true' if expanded else 'false')
        dom.set_text(button, 'Show less' if expanded else 'Show all')

    def on_expand(self, event):
        dom.by_id('last-text').classList.toggle('expanded')
        self.update_expand()

    async def on_copy(self, event):
        text = value_or_none(self.last, 'text')
        if text == None:
            return None
        button = dom.by_id('copy')
        try:
            await navigator.clipboard.writeText(text)
            dom.set_text(button, 'Copied')
            dom.set_text(dom.by_id('announce'), 'Answer copied.')
        except Exception as e:
            console.warn('[keypool] copy failed:', str(e))
            dom.set_text(button, 'Copy failed')
        setTimeout(lambda: dom.set_text(button, 'Copy'), COPIED_SHOWN_MS)
        return None

    def on_thumb_error(self, event):
        dom.by_id('last-thumb').hidden = True

    # -- history ------------------------------------------------------------

    def set_history(self, history):
        self.history = history if history != None else []
        self.render_history()

    def on_history_toggle(self, event):
        button = dom.by_id('history-toggle')
        opened = button.getAttribute('aria-expanded') != 'true'
        button.setAttribute('aria-expanded', 'true' if opened else 'false')
        dom.by_id('history').hidden = not opened

    def render_history(self):
        items = self.history
        dom.by_id('history-toggle').hidden = len(items) == 0
        if len(items) == 0:
            dom.by_id('history').hidden = True
            dom.by_id('history-toggle').setAttribute('aria-expanded', 'false')
        dom.set_text(dom.by_id('history-count'), str(len(items)))
        list_node = dom.by_id('history-list')
        dom.clear(list_node)
        now_ms = Date.now()
        for entry in items[:HISTORY_SHOWN]:
            li = dom.el('li', 'history-item')
            error = value_or_none(entry, 'error')
            where = value_or_none(entry, 'imageUrl')
            label = 'Screenshot of a tab' if where == 'tab' else fmt.short_url(where)
            head = dom.el('span', 'meta', label + ' · ' + fmt.ago_text(value_or_none(entry, 'at'), now_ms))
            body = dom.el('span', 'history-text',
                          ('Failed: ' + error) if error != None else value_or_none(entry, 'text'))
            if error != None:
                body.setAttribute('data-level', 'error')
            li.append(head, body)
            list_node.appendChild(li)
