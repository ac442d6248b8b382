"""The toolbar popup: wiring only. The sections are ui/ modules.

State comes from storage (chrome.storage.session `status`, `lastAnalysis`,
`history`, `poolHealth`; chrome.storage.local `settings`), read once and then
followed with chrome.storage.onChanged; the pool's rows are computed here
with core.pool (ui.poolsource). On open, the servers not checked lately are
checked in the background (checkServers), and their rows update as the
answers land. A one-second tick only redraws relative times.
"""
import jsfix  # noqa: F401  (first: lets `except Exception` catch native errors)
from core.contract import (HISTORY, LAST_ANALYSIS, MSG_CHECK_SERVERS, MSG_RETRY_SERVER, SESSION,
                           STATUS)
from glue.store import get_items
from core.poolview import STALE_MS, stale_urls
from ui import dom
from ui.analysis import Analysis
from ui.donation import Donation
from ui.poolrows import PoolList
from ui.poolsource import PoolSource
from ui.statusline import StatusLine

TICK_MS = 1000
SETUP_PAGE = 'setup.html'
PRIVACY_PAGE = 'privacy.html'


def run(promise):
    """Fire and forget, with a console line if it fails."""
    promise.catch(lambda e: console.error('[keypool] popup:', str(e)))


class Popup:
    def __init__(self):
        self.status = None
        self.status_seen = False
        self.status_floor_ms = 0     # statuses up to this time were superseded ("Try again")
        self.source = PoolSource(self.render_pool)
        self.pool_list = PoolList(self.retry_server)
        self.status_line = StatusLine()
        self.analysis = Analysis(self)
        self.donation = Donation(self)
        self.run = run

    # -- what the sections ask of the page ---------------------------------

    def no_server(self):
        return self.status_line.no_server

    def focus_no_server(self):
        dom.by_id('open-setup').focus()

    # -- rendering -------------------------------------------------------------

    def render_pool(self):
        now_ms = Date.now()
        rows = self.source.rows(now_ms)
        self.pool_list.render(rows, now_ms)
        was = self.status_line.no_server
        status = self.status
        if status != None and status['at'] != None and status['at'] <= self.status_floor_ms:
            status = None
        self.status_line.render(status, rows, now_ms)
        if was != self.status_line.no_server:
            self.analysis.render_last()

    def render_status(self):
        self.render_pool()

    # -- actions -----------------------------------------------------------------

    async def check(self, every):
        """Ask the worker to check the servers (stale ones, or every one); rows say "Checking…"."""
        urls = self.source.servers if every else stale_urls(self.source.rows(Date.now()),
                                                             Date.now(), STALE_MS)
        for url in urls:
            self.pool_list.checking[url] = True
        self.render_pool()
        try:
            answer = await dom.send({'type': MSG_CHECK_SERVERS, 'all': every})
            if not answer['ok']:
                dom.set_message(dom.by_id('pool-message'), answer['error'], 'error')
        finally:
            self.pool_list.checking = {}
            self.render_pool()
        return None

    async def try_again(self, event):
        button = dom.by_id('try-again')
        # The error that led here is answered by this new check: it no longer stands.
        self.status_floor_ms = Date.now()
        dom.set_busy(button, True, 'Checking…')
        try:
            await self.check(True)
        finally:
            dom.set_busy(button, False)
        # Focus stays on the button; if the message went away, on the status line.
        if self.status_line.no_server:
            button.focus()
        else:
            dom.by_id('status-text').focus()
        return None

    async def retry_server(self, url, nodes):
        button = nodes['button']
        if button.disabled:
            return None
        dom.set_busy(button, True, 'Checking…')
        nodes['note'].hidden = True
        try:
            answer = await dom.send({'type': MSG_RETRY_SERVER, 'url': url})
        finally:
            dom.set_busy(button, False)
        if answer['ok']:
            text = answer['message']
            if answer['healthy'] == True:
                level = 'success'
            elif answer['healthy'] == False:
                level = 'error'
            else:
                level = 'info'  # a check was already running
        else:
            text = answer['error']
            level = 'error'
        dom.set_text(nodes['note'], text)
        nodes['note'].setAttribute('data-level', level)
        nodes['note'].hidden = False
        self.render_pool()
        # Focus stays on the button (disabling it while busy dropped it to the
        # body); once the server is back the button hides, and focus goes to what it said.
        if button.hidden:
            nodes['note'].focus()
        else:
            button.focus()
        return None

    # -- storage -----------------------------------------------------------------

    def on_storage_changed(self, changes, area):
        self.source.on_storage_changed(changes, area)
        if area != SESSION:
            return None
        if STATUS.key in changes:
            self.status_seen = True
            self.status = changes[STATUS.key].newValue
            self.render_status()
        if LAST_ANALYSIS.key in changes:
            self.analysis.set_last(changes[LAST_ANALYSIS.key].newValue)
        if HISTORY.key in changes:
            self.analysis.set_history(changes[HISTORY.key].newValue)

    async def load(self):
        got = await get_items([STATUS, LAST_ANALYSIS, HISTORY])
        if not self.status_seen:
            self.status = got[STATUS.key]
        self.analysis.set_last(got[LAST_ANALYSIS.key])
        self.analysis.set_history(got[HISTORY.key])
        await self.source.load()
        await self.check(False)
        return None

    def tick(self):
        if self.source.loaded:
            self.render_pool()
        if self.analysis.last != None:
            self.analysis.render_last()

    def open_page(self, path):
        chrome.tabs.create({'url': chrome.runtime.getURL(path)})
        window.close()

    def wire(self):
        chrome.storage.onChanged.addListener(self.on_storage_changed)
        dom.on(dom.by_id('open-options'), 'click', lambda event: chrome.runtime.openOptionsPage())
        dom.on(dom.by_id('open-setup'), 'click', lambda event: self.open_page(SETUP_PAGE))
        dom.on(dom.by_id('open-setup-small'), 'click', lambda event: self.open_page(SETUP_PAGE))
        dom.on(dom.by_id('try-again'), 'click', self.try_again)
        dom.on(dom.by_id('analyze-form'), 'submit', self.analysis.on_submit)
        dom.on(dom.by_id('analyze-tab'), 'click', self.analysis.on_tab)
        dom.on(dom.by_id('image-url'), 'input',
               lambda event: event.target.removeAttribute('aria-invalid'))
        dom.on(dom.by_id('consent-yes'), 'click', self.analysis.on_consent)
        dom.on(dom.by_id('consent-no'), 'click', self.analysis.on_consent_no)
        dom.on(dom.by_id('copy'), 'click', self.analysis.on_copy)
        dom.on(dom.by_id('history-toggle'), 'click', self.analysis.on_history_toggle)
        dom.on(dom.by_id('expand'), 'click', self.analysis.on_expand)
        dom.on(dom.by_id('last-thumb'), 'error', self.analysis.on_thumb_error)
        self.donation.wire()
        run(self.load())
        setInterval(self.tick, TICK_MS)


def main():
    Popup().wire()


main()
