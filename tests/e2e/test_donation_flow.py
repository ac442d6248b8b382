"""Donating an API key (CONTRACT §1 donate, §4 donateKey), through the popup and by message.

Accepted: the form clears and the status thanks. Rejected (4xx): one request,
no failover, the key stays in the field, the server's reason is shown.
503: the next server takes it. Bad input: refused with no network at all.
The key never appears whole in a log, a status or an error.
"""

from __future__ import annotations

import json
import secrets
import string

import pytest
from playwright.sync_api import expect

from tests.e2e import pages

pytestmark = pytest.mark.e2e

THANKS = "✅ Thank you! API key validated and added successfully!"
DONATE = "/donate-key"
_ALPHABET = string.ascii_letters + string.digits + "-_"


def new_key() -> str:
    """A realistic fake Gemini key (39 characters), different in every test."""
    return "AIzaSy" + "".join(secrets.choice(_ALPHABET) for _ in range(33))


def masked(key: str) -> str:
    return key[:4] + "…" + key[-2:]


def open_popup(ext):
    page = pages.open_popup(ext)
    # every status text the worker writes, in order
    page.evaluate("""() => { window.__statuses = [];
        chrome.storage.onChanged.addListener((c, area) => {
            if (area === 'session' && c.status && c.status.newValue)
                window.__statuses.push(c.status.newValue.text); }); }""")
    page.click("#donate-section summary")
    return page


def donate_in_popup(page, key: str, donor: str = "") -> None:
    page.fill("#donate-key", key)
    page.fill("#donor", donor)
    page.click("#donate")


def donate_requests(pool) -> list:
    return [r for s in pool.servers for r in s.requests_to(DONATE, "POST")]


def pin_random(ext, value: float = 0.0) -> None:
    """Make the worker's random picks deterministic (the first candidate server first)."""
    ext.sw_eval(f"() => {{ Math.random = () => {value}; }}")


# --------------------------------------------------------------- accepted

def test_accepted_in_the_popup_clears_the_form_and_thanks(ext, pool):
    key = new_key()
    page = open_popup(ext)
    donate_in_popup(page, key, "ada@example.org")
    message = page.locator("#donate-message")
    expect(message).to_contain_text("Thank you", timeout=10_000)
    expect(message).to_have_attribute("data-level", "success")
    expect(page.locator("#status-text")).to_have_text(THANKS)
    expect(page.locator("#status")).to_have_attribute("data-level", "success")
    expect(page.locator("#donate-key")).to_have_value("")
    expect(page.locator("#donor")).to_have_value("")
    expect(page.locator("#donate-key")).to_have_attribute("type", "password")
    expect(page.locator("#donate")).to_be_enabled()

    steps = page.evaluate("() => window.__statuses")
    assert steps[:2] == ["🔄 Finding working server...", "🔄 Validating API key..."], steps
    assert steps[-1] == THANKS, steps
    sent = donate_requests(pool)
    assert len(sent) == 1, sent
    assert sent[0].json == {"apiKey": key, "donorEmail": "ada@example.org"}
    assert sent[0].header("Content-Type").startswith("application/json")


def test_accepted_by_message(ext, pool):
    key = new_key()
    answer = ext.send({"type": "donateKey", "apiKey": "  " + key + "\n"})
    assert answer["ok"] is True, answer
    assert answer["server"] in pool.urls()
    assert answer["message"]
    server = pool.server_for(answer["server"])
    assert [d["apiKey"] for d in server.donated] == [key]  # trimmed
    assert "donorEmail" not in server.donated[0]
    assert len(donate_requests(pool)) == 1
    assert ext.storage("session", "status")["text"] == THANKS


def test_button_is_disabled_and_says_so_while_donating(ext, pool):
    pool.set_all("slow", DONATE, delay_ms=800)  # under keyTimeoutMs (1500)
    key = new_key()
    page = open_popup(ext)
    donate_in_popup(page, key)
    button = page.locator("#donate")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-busy", "true")
    expect(button).to_have_text("Donating…")
    expect(page.locator("#status-text")).to_have_text("🔄 Validating API key...")
    # a second click (or Enter) meanwhile sends nothing more
    page.press("#donor", "Enter")
    expect(page.locator("#donate-message")).to_contain_text("Thank you", timeout=10_000)
    expect(button).to_be_enabled()
    expect(button).to_have_text("Donate key")
    assert len(donate_requests(pool)) == 1


# --------------------------------------------------------------- rejected

def test_rejected_400_one_request_no_failover_key_stays(ext, pool):
    pool.set_all("donate_reject", details="This key was revoked by its owner")
    key = new_key()
    page = open_popup(ext)
    donate_in_popup(page, key, "Grace")
    message = page.locator("#donate-message")
    expect(message).to_contain_text("Invalid API key", timeout=10_000)
    expect(message).to_contain_text("This key was revoked by its owner")
    expect(message).to_have_attribute("data-level", "error")
    expect(page.locator("#status")).to_have_attribute("data-level", "error")
    expect(page.locator("#donate-key")).to_have_value(key)  # kept, to fix or retry
    expect(page.locator("#donor")).to_have_value("Grace")
    expect(page.locator("#donate")).to_be_enabled()
    # The worker's donation is over (it answered); a failover would have POSTed before that.
    ext.wait_for(lambda: any("donation rejected by" in t for t in ext.log_texts()),
                 message="the worker logged the rejection")
    assert len(donate_requests(pool)) == 1
    # the key is in the field, never in the text on the page
    assert key not in page.locator("body").inner_text()


def test_rejected_by_message(ext, pool):
    pool.set_all("donate_duplicate")
    answer = ext.send({"type": "donateKey", "apiKey": new_key()})
    assert answer["ok"] is False and answer["rejected"] is True, answer
    assert "already been donated" in answer["error"]
    assert len(donate_requests(pool)) == 1


# --------------------------------------------------------------- failover

def test_503_fails_over_to_the_next_server_in_the_popup(ext, pool):
    first, second = pool.servers[0], pool.servers[1]
    ext.settings(servers=[first.base, second.base])
    first.set_mode("status_503", DONATE)
    pin_random(ext, 0.0)
    key = new_key()
    page = open_popup(ext)
    donate_in_popup(page, key)
    expect(page.locator("#donate-message")).to_contain_text("Thank you", timeout=10_000)
    expect(page.locator("#donate-message")).to_contain_text(second.base.split("/")[2])
    assert first.count(DONATE, "POST") == 1
    assert second.count(DONATE, "POST") == 1
    assert [d["apiKey"] for d in second.donated] == [key]
    assert first.donated == []
    # the 503 counted against the first server
    rows = {r["url"]: r for r in ext.send({"type": "getPoolStatus"})["servers"]}
    assert rows[first.base]["state"] == "failed" and "503" in rows[first.base]["reason"]


def test_503_fails_over_by_message(ext, pool):
    first, second = pool.servers[2], pool.servers[3]
    ext.settings(servers=[first.base, second.base])
    first.set_mode("status_503", DONATE)
    pin_random(ext, 0.0)
    answer = ext.send({"type": "donateKey", "apiKey": new_key()})
    assert answer["ok"] is True and answer["server"] == second.base, answer
    assert [s.count(DONATE, "POST") for s in (first, second)] == [1, 1]


# --------------------------------------------------------------- bad input

BAD_KEYS = [
    pytest.param("", "Please enter an API key", id="empty"),
    pytest.param("   ", "Please enter an API key", id="blank"),
    pytest.param("AIzaSy12345 67890abcdefghijklmnopqrstu", "no spaces", id="inner-space"),
    pytest.param("A" * 513, "too long", id="513-chars"),
]


@pytest.mark.parametrize("key, expected", BAD_KEYS)
def test_bad_key_refused_in_the_popup_with_no_network(ext, pool, key, expected):
    page = open_popup(ext)
    # Record what the popup asks the worker: the check is the popup's own, before any message.
    page.evaluate("""() => { window.__sent = []; const send = chrome.runtime.sendMessage.bind(chrome.runtime);
        chrome.runtime.sendMessage = (m, ...rest) => { window.__sent.push(m && m.type); return send(m, ...rest); }; }""")
    donate_in_popup(page, key)
    error = page.locator("#donate-key-error")
    expect(error).to_contain_text(expected)
    expect(page.locator("#donate-key")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#donate-key")).to_be_focused()
    assert "donateKey" not in page.evaluate("() => window.__sent")
    # The popup checks the servers' /health when it opens; the donation sent nothing at all.
    assert sum(s.count("/donate-key") + s.count("/gemini-key") for s in pool.servers) == 0
    assert pool.provider.count() == 0
    assert ext.storage("session", "status") is None  # nothing even reached the worker
    # typing clears the error
    page.type("#donate-key", "x")
    expect(error).to_be_hidden()


@pytest.mark.parametrize("key, expected", BAD_KEYS)
def test_bad_key_refused_by_message_with_no_network(ext, pool, key, expected):
    answer = ext.send({"type": "donateKey", "apiKey": key})
    assert answer["ok"] is False and answer["invalidInput"] is True, answer
    assert expected in answer["error"]
    assert sum(s.count() for s in [*pool.servers, pool.provider]) == 0


def test_non_string_key_refused_by_message(ext, pool):
    for bad in (None, 12345, ["AIza"], {"k": 1}):
        answer = ext.send({"type": "donateKey", "apiKey": bad})
        assert answer["ok"] is False and answer["invalidInput"] is True, (bad, answer)
    assert sum(s.count() for s in [*pool.servers, pool.provider]) == 0


# --------------------------------------------------------------- the key stays secret

def test_key_never_appears_whole(ext, pool):
    ext.stop_sw()  # the window includes a cold start of the worker
    accepted, rejected = new_key(), new_key()
    page = open_popup(ext)
    donate_in_popup(page, accepted, "ada@example.org")
    expect(page.locator("#donate-message")).to_contain_text("Thank you", timeout=10_000)

    # a server that echoes the key back in its error
    pool.set_all("donate_reject", details=f"key {rejected} is not valid")
    donate_in_popup(page, rejected)
    message = page.locator("#donate-message")
    expect(message).to_contain_text("Invalid API key", timeout=10_000)
    expect(message).to_contain_text(masked(rejected))
    answer = ext.send({"type": "donateKey", "apiKey": rejected})
    assert answer["ok"] is False
    # both rejections logged (popup and message): the console lines checked below are in
    ext.wait_for(lambda: sum(1 for t in ext.log_texts() if "donation rejected by" in t) >= 2,
                 message="the worker logged both rejections")

    logs = "\n".join(ext.log_texts())
    chrome_log = ext.chrome_log()
    session = json.dumps(ext.storage("session"), ensure_ascii=False)
    local = json.dumps(ext.storage("local"), ensure_ascii=False)
    shown = page.locator("body").inner_text()
    assert "donat" in (logs + chrome_log).lower()  # the logs did see the donations
    for key in (accepted, rejected):
        assert key not in logs
        assert key not in chrome_log
        assert key not in session
        assert key not in local
        assert key not in shown
        assert key not in json.dumps(answer, ensure_ascii=False)
