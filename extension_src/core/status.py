"""The status lines people see (popup, badge) and their levels (CONTRACT.md §4 `status`)."""

INFO = 'info'
SUCCESS = 'success'
ERROR = 'error'

GETTING_KEY = '🔄 Getting API key...'
CONNECTING = '🔄 Connecting to server...'
ANALYZING = '🧠 Analyzing image...'
FINDING_SERVER = '🔄 Finding working server...'
VALIDATING = '🔄 Validating API key...'
DONATED = '✅ Thank you! API key validated and added successfully!'
IN_POOL = '✅ Your key is in the pool. Thank you!'
KEY_READY = '✅ API key ready'
ANALYSIS_DONE = '✅ Analysis complete'
RETRYING_ROUND = '⏳ All servers failed; retrying in a moment...'
NEW_KEY = '🔄 That key was refused; getting another API key...'


def error_text(message):
    return '❌ ' + message


def status_obj(text, level, at_ms):
    """The `status` record of chrome.storage.session."""
    return {'text': text, 'level': level, 'at': at_ms}
CAPTURING = '📸 Capturing the visible tab...'
