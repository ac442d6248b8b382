"""The effective settings: chrome.storage.local `settings` over the build defaults.

Read on every request, so a change applies to the next one without a reload.
A bad field is ignored with one console warning (repeated only when it changes).
Resolving is memoized on the stored value's JSON, so an unchanged setting
costs one storage read and no validation.
"""

import build_config
from core.settings import resolve_settings
from glue import log
from core.contract import TEST_CONFIG
from glue.store import SETTINGS_ITEM, get_item

_memo = {'json': None, 'resolved': None}
_warned = {'text': ''}


def _resolved(stored):
    """[settings, warnings] for a stored `settings` value, memoized on its JSON."""
    as_json = JSON.stringify(stored if stored != None else None)
    if _memo['json'] != as_json:
        _memo['resolved'] = resolve_settings(build_config.DEFAULTS, stored)
        _memo['json'] = as_json
    return _memo['resolved']


def settings_from(stored):
    """The effective settings for a stored `settings` value, warning once per change."""
    warnings = _resolved(stored)[1]
    joined = '\n'.join(warnings)
    if joined != _warned['text']:
        _warned['text'] = joined
        for text in warnings:
            log.warn(text)
    return _resolved(stored)[0]


async def load_settings():
    return settings_from(await SETTINGS_ITEM.read())


async def settings_report():
    """[settings, warnings] for the options page."""
    return _resolved(await SETTINGS_ITEM.read())


async def is_offline():
    """Is the browser offline? (testConfig.offline lets e2e tests say so.)"""
    test_config = await get_item(TEST_CONFIG)
    if test_config != None and test_config['offline'] == True:
        return True
    return navigator.onLine == False
