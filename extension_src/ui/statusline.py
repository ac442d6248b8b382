"""The popup's status line: the latest status, or what the pool's state means.

core.poolview.status_line decides the text. With no server left it is one
actionable message, "No key server answered.", with "Set up servers" and
"Try again" (issue 9: the same sentence appeared three times, pointing
nowhere). Only the text sits in the live region: the age beside it ticks
every second and would be announced each time.
"""

from core.poolview import status_line
from ui import dom, fmt

LEVELS = ['info', 'success', 'warning', 'error']


class StatusLine:
    def __init__(self):
        self.shown_text = None
        self.no_server = False

    def render(self, status, rows, now_ms):
        """Show the line; returns whether the no-server message is up."""
        line = status_line(status, rows, now_ms)
        box = dom.by_id('status')
        level = line['level'] if line['level'] in LEVELS else 'info'
        box.setAttribute('data-level', level)
        if line['text'] != self.shown_text:
            # Written only when it changes: a live region announces every write.
            self.shown_text = line['text']
            dom.set_text(dom.by_id('status-text'), line['text'])
        at = status['at'] if status != None and not line['noServer'] else None
        dom.set_text(dom.by_id('status-age'), fmt.ago_text(at, now_ms))
        self.no_server = line['noServer']
        dom.by_id('no-server').hidden = not self.no_server
        return self.no_server
