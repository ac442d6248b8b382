"""The popup's key donation: checked with no network first, then sent to the worker.

The key stays in its field on failure (so that it can be fixed) and is
masked in every message shown (core.redact).
"""

from core.contract import MSG_DONATE_KEY
from core.donation import check_donor_input, check_key_input
from core.redact import redact
from ui import dom, fmt


class Donation:
    def __init__(self, page):
        self.page = page
        self.donating = False

    def message(self, text, level):
        dom.set_message(dom.by_id('donate-message'), text, level)

    def set_key_visible(self, visible):
        field = dom.by_id('donate-key')
        toggle = dom.by_id('toggle-key')
        field.setAttribute('type', 'text' if visible else 'password')
        toggle.setAttribute('aria-pressed', 'true' if visible else 'false')
        dom.set_text(toggle, 'Hide' if visible else 'Show')

    def on_toggle_key(self, event):
        self.set_key_visible(dom.by_id('donate-key').getAttribute('type') == 'password')

    def on_submit(self, event):
        event.preventDefault()
        if self.donating:
            return None
        key_field = dom.by_id('donate-key')
        donor_field = dom.by_id('donor')
        key_checked = check_key_input(key_field.value)
        donor_checked = check_donor_input(donor_field.value)
        dom.set_field_error(key_field, dom.by_id('donate-key-error'), key_checked[1])
        dom.set_field_error(donor_field, dom.by_id('donor-error'), donor_checked[1])
        if key_checked[1] != None or donor_checked[1] != None:
            self.message(None, 'info')
            (key_field if key_checked[1] != None else donor_field).focus()
            return None
        self.page.run(self.donate(key_checked[0], donor_checked[0]))
        return None

    async def donate(self, key, donor):
        button = dom.by_id('donate')
        key_field = dom.by_id('donate-key')
        self.donating = True
        dom.set_busy(button, True, 'Donating…')
        key_field.readOnly = True
        self.message(None, 'info')
        request = {'type': MSG_DONATE_KEY, 'apiKey': key}
        if len(donor) > 0:
            request['donorEmail'] = donor
        try:
            answer = await dom.send(request)
        finally:
            self.donating = False
            key_field.readOnly = False
            dom.set_busy(button, False)
        if answer['ok']:
            dom.by_id('donate-form').reset()
            self.set_key_visible(False)
            where = fmt.host_of(answer['server'])
            if answer['alreadyInPool'] == True:
                self.message(answer['message'], 'success')
            else:
                self.message('Thank you! Your key was added to the pool'
                             + (' by ' + where if len(where) > 0 else '') + '.', 'success')
            # Focus on the outcome: the button it left is disabled, then reset.
            dom.by_id('donate-message').focus()
        else:
            # The key stays in the field, so that the person can fix it or try again.
            error = redact(answer['error'], key)
            if answer['invalidInput'] == True:
                dom.set_field_error(key_field, dom.by_id('donate-key-error'), error)
            self.message(error, 'error')
            key_field.focus()
        return None

    def on_input(self, event):
        dom.set_field_error(event.target, dom.by_id(event.target.id + '-error'), None)

    def wire(self):
        dom.on(dom.by_id('donate-form'), 'submit', self.on_submit)
        dom.on(dom.by_id('toggle-key'), 'click', self.on_toggle_key)
        dom.on(dom.by_id('donate-key'), 'input', self.on_input)
        dom.on(dom.by_id('donor'), 'input', self.on_input)
