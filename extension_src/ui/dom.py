"""DOM and messaging helpers for the extension's pages (Transcrypt only).

Every text from a server or the provider goes through textContent: nothing
here ever sets innerHTML.
"""


def by_id(element_id):
    """document.getElementById, failing loudly when the template lacks the element."""
    node = document.getElementById(element_id)
    if node == None:
        raise Exception('the page has no #' + element_id)
    return node


def el(tag, cls=None, text=None):
    """A new element with an optional class name and text (set as plain text)."""
    node = document.createElement(tag)
    if cls != None:
        node.className = cls
    if text != None:
        node.textContent = text
    return node


def set_text(node, text):
    """Plain text into node ('' for None)."""
    node.textContent = '' if text == None else str(text)


def clear(node):
    node.replaceChildren()


def set_busy(button, busy, busy_text=None):
    """Disable a button while its action runs; its label says so; restored afterwards."""
    if busy:
        if button.dataset.label == None:
            button.dataset.label = button.textContent
        if busy_text != None:
            button.textContent = busy_text
        button.disabled = True
        button.setAttribute('aria-busy', 'true')
    else:
        if button.dataset.label != None:
            button.textContent = button.dataset.label
        button.disabled = False
        button.removeAttribute('aria-busy')


def set_message(node, text, level):
    """An inline message under a form: level 'error', 'success', 'info'; None hides it."""
    if text == None or len(text) == 0:
        node.textContent = ''
        node.hidden = True
        node.removeAttribute('data-level')
        return None
    node.textContent = text
    node.setAttribute('data-level', level)
    node.hidden = False
    return None


def set_field_error(field, message_node, text):
    """Mark an input invalid with text next to it, or clear it (text None)."""
    if text == None or len(text) == 0:
        field.removeAttribute('aria-invalid')
        message_node.textContent = ''
        message_node.hidden = True
    else:
        field.setAttribute('aria-invalid', 'true')
        message_node.textContent = text
        message_node.hidden = False
    return None


async def send(message):
    """chrome.runtime.sendMessage, always an answer object with ok (never throws)."""
    try:
        answer = await chrome.runtime.sendMessage(message)
    except Exception as e:
        return {'ok': False, 'error': 'Keypool\u2019s background worker did not answer ('
                + str(e.message) + '). Please try again.'}
    if answer == None:
        return {'ok': False, 'error': 'Keypool\u2019s background worker gave no answer. '
                                      'Please try again.'}
    return answer


def on(node, event_name, handler):
    """addEventListener with a handler whose errors end in the console, not silently."""
    def wrapped(event):
        try:
            result = handler(event)
        except Exception as e:
            console.error('[keypool] ' + event_name + ' handler failed:', str(e))
            return None
        if result != None and result.then != None:
            result.catch(lambda e: console.error('[keypool] ' + event_name + ' handler failed:',
                                                 str(e)))
        return None
    node.addEventListener(event_name, wrapped)
