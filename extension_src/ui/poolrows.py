"""The popup's list of key servers: one row per server, updated in place.

Rows are core.poolview's views: "Available" only for a server that answered
lately; "Not checked yet" for one never contacted (or not for a while);
"Checking…" while the page asked the worker to check it.
"""

from core.poolview import (STALE_MS, VIEW_AVAILABLE, VIEW_FAILED, VIEW_PROBATION, VIEW_UNCHECKED,
                           row_view)
from ui import dom, fmt

STATE_TEXTS = {
    VIEW_AVAILABLE: 'Available',
    VIEW_UNCHECKED: 'Not checked yet',
    VIEW_PROBATION: 'Back on probation · being checked',
}


class PoolList:
    """Owns #pool and #pool-summary; keeps each row's nodes so focus survives updates."""

    def __init__(self, on_retry):
        self.on_retry = on_retry      # on_retry(url, nodes): a coroutine
        self.nodes = {}
        self.checking = {}            # url -> True while this page waits on a check

    def make_row(self, url):
        li = dom.el('li', 'server')
        li.dataset.url = url
        dot = dom.el('span', 'dot')
        dot.setAttribute('aria-hidden', 'true')
        name = dom.el('span', 'server-name', fmt.short_url(url))
        name.title = url
        name.id = 'server-' + str(len(self.nodes)) + '-' + str(Date.now())
        state_node = dom.el('span', 'server-state')
        button = dom.el('button', 'secondary small retry', 'Retry now')
        button.setAttribute('type', 'button')
        # Named "Retry now" as it reads (axe: label-content-name-mismatch);
        # the server it acts on is its description.
        button.setAttribute('aria-describedby', name.id)
        detail = dom.el('p', 'server-detail')
        note = dom.el('p', 'server-note')
        note.setAttribute('tabindex', '-1')
        note.hidden = True
        li.append(dot, name, state_node, button, detail, note)
        nodes = {'li': li, 'dot': dot, 'state': state_node, 'detail': detail, 'note': note,
                 'button': button, 'name': name}
        dom.on(button, 'click', lambda event: self.on_retry(url, nodes))
        self.nodes[url] = nodes
        return nodes

    def update_row(self, nodes, row, now_ms):
        view = row_view(row, now_ms, STALE_MS)
        checking = self.checking[row['url']] == True
        nodes['li'].setAttribute('data-state', view)
        if view == VIEW_FAILED:
            parts = ['Failed ' + fmt.ago_text(row['failedAt'], now_ms)]
            back = fmt.back_in_text(row['retryAt'], now_ms)
            if len(back) > 0:
                parts.append(back)
            text = ' · '.join(parts)
        else:
            text = STATE_TEXTS[view]
        if checking and view != VIEW_FAILED:
            text = 'Checking…'
        dom.set_text(nodes['state'], text)
        out = view == VIEW_FAILED or view == VIEW_PROBATION
        if out:
            dom.set_text(nodes['detail'], fmt.failure_text(row['kind'], row['reason']))
        else:
            dom.set_text(nodes['detail'], '')
        nodes['detail'].hidden = not out
        nodes['button'].hidden = not out

    def render(self, rows, now_ms):
        list_node = dom.by_id('pool')
        wanted = []
        index = 0
        for row in rows:
            url = row['url']
            nodes = self.nodes[url] if url in self.nodes else self.make_row(url)
            self.update_row(nodes, row, now_ms)
            here = list_node.children[index]
            if here == None:
                list_node.appendChild(nodes['li'])
            elif here is not nodes['li']:
                list_node.insertBefore(nodes['li'], here)
            wanted.append(url)
            index += 1
        for url in list(self.nodes.keys()):
            if url not in wanted:
                self.nodes[url]['li'].remove()
                del self.nodes[url]
        total = len(rows)
        answered = len([r for r in rows if row_view(r, now_ms, STALE_MS) == VIEW_AVAILABLE])
        summary = ''
        if total > 0:
            summary = str(answered) + ' of ' + str(total) + ' available'
        dom.set_text(dom.by_id('pool-summary'), summary)
