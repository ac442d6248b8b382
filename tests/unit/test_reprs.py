"""The core's __repr__s: what a failing test or a DevTools console shows of its values."""
from core.contract import SETTINGS
from core.failover import START, Action
from core.outcome import NETWORK_ERROR, Outcome


def test_outcome():
    assert repr(Outcome(NETWORK_ERROR, "network error")) == "Outcome(network, network error)"


def test_action_names_its_kind_url_and_wait():
    assert repr(Action(START, "http://a/api", 250)) == "Action(start, http://a/api, 250)"


def test_store_item():
    assert repr(SETTINGS) == "StoreItem(local, settings)"
    assert (SETTINGS.area, SETTINGS.key, SETTINGS.fallback) == ("local", "settings", None)
