"""The options page (CONTRACT §3): shows, checks, saves and resets chrome.storage.local `settings`."""

from __future__ import annotations

import tomllib

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def build_defaults() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["keypool"]


def open_options(ext, dark: bool = False, width: int = 900, height: int = 900,
                 advanced: bool = True):
    """The options page, loaded; with "Advanced" (the timings) opened unless advanced=False."""
    page = ext.ctx.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme="dark" if dark else "light")
    page.goto(ext.url("options.html"))
    expect(page.locator("#servers")).not_to_have_value("")
    if advanced:
        page.click("#advanced summary")
        expect(page.locator("#keyTimeoutMs")).to_be_visible()
    return page


def stored(ext) -> dict | None:
    return ext.storage("local", "settings")


def save(page, expected: str = "Saved") -> None:
    page.click("#save")
    expect(page.locator("#save-message")).to_contain_text(expected)


def field_error(page, field_id: str):
    return page.locator(f"#{field_id}-error")


def stub_permission_request(page, answer: bool) -> None:
    """Stand in for a person answering Chrome's prompt (headless Chrome cannot show it)."""
    page.evaluate("""(answer) => { window.__asked = [];
        chrome.permissions.request = (p) => { window.__asked.push(p); return Promise.resolve(answer); }; }""",
                  answer)


# --------------------------------------------------------------- showing

def test_the_form_shows_the_effective_settings(ext, pool):
    page = open_options(ext)
    expect(page.locator("#servers")).to_have_value("\n".join(pool.urls()))
    expect(page.locator("#keyTimeoutMs")).to_have_value("1500")
    expect(page.locator("#keyTimeoutMs-human")).to_have_text("= 1.5 s")
    expect(page.locator("#hedgeDelayMs")).to_have_value("")
    expect(page.locator("#hedgeDelayMs-human")).to_have_text("automatic")
    expect(page.locator("#endpoint-key")).to_have_value("/gemini-key")
    expect(page.locator("#provider-kind")).to_have_value("gemini")
    expect(page.locator("#provider-baseUrl")).to_have_value(pool.provider.base_gemini)
    expect(page.locator("#warnings")).to_be_hidden()


def test_ignored_stored_values_are_shown_as_warnings(ext, pool):
    ext.settings(keyTimeoutMs="fast", servers="http://one", bogus=1)
    page = open_options(ext)
    warnings = page.locator("#warnings")
    expect(warnings).to_be_visible()
    # in the page's words: the field's label, never `settings.keyTimeoutMs`
    expect(warnings).to_contain_text("Key request timeout: must be")
    expect(warnings).to_contain_text("Server base URLs: must be")
    expect(warnings).to_contain_text('A setting this page does not know ("bogus"): unknown setting')
    expect(warnings).not_to_contain_text("settings.")
    # the form shows what is in force: the defaults for the ignored values
    defaults = build_defaults()
    expect(page.locator("#keyTimeoutMs")).to_have_value(str(defaults["keyTimeoutMs"]))
    expect(page.locator("#servers")).to_have_value("\n".join(defaults["servers"]))
    # saving writes only valid values, and the warnings go away
    save(page)
    expect(warnings).to_be_hidden()
    assert ext.send({"type": "getSettings"})["warnings"] == []
    assert "bogus" not in stored(ext) and "keyTimeoutMs" not in stored(ext)


# --------------------------------------------------------------- saving

def test_saved_servers_apply_to_the_next_request(ext, pool):
    page = open_options(ext)
    subset = [pool.servers[1].base, pool.servers[3].base]
    page.fill("#servers", f"  {subset[0]}/\n\n{subset[1]}\n{subset[0]}\n")
    save(page)
    expect(page.locator("#servers")).to_have_value("\n".join(subset))  # normalized
    assert stored(ext)["servers"] == subset
    for _ in range(4):
        answer = ext.send({"type": "getApiKey"})
        assert answer["ok"] is True and answer["server"] in subset, answer
    hits = [s.count("/gemini-key") for s in pool.servers]
    assert hits[0] == hits[2] == hits[4] == 0, hits
    assert hits[1] + hits[3] >= 4, hits


def test_every_field_is_saved_and_read_back_by_the_worker(ext, pool):
    page = open_options(ext)
    page.fill("#healthTimeoutMs", "2500")
    page.fill("#keyCacheMs", "0")
    page.fill("#hedgeDelayMs", "250")
    expect(page.locator("#hedgeDelayMs-human")).to_have_text("= 250 ms")
    page.fill("#ejectionBaseMs", "2000")
    page.fill("#probeIntervalMs", "45000")
    page.fill("#endpoint-health", "/healthz")
    page.select_option("#provider-kind", "openai")
    page.fill("#provider-baseUrl", pool.provider.base_openai + "/")
    page.fill("#provider-model", "gpt-4o-mini")
    page.fill("#provider-prompt", "  What is this?  ")
    page.press("#provider-model", "Enter")  # Enter submits the form
    expect(page.locator("#save-message")).to_contain_text("Saved")
    settings = ext.send({"type": "getSettings"})
    assert settings["warnings"] == []
    s = settings["settings"]
    assert s["healthTimeoutMs"] == 2500 and s["keyCacheMs"] == 0 and s["hedgeDelayMs"] == 250
    assert s["ejectionBaseMs"] == 2000 and s["probeIntervalMs"] == 45000
    assert s["endpoints"] == {"health": "/healthz", "key": "/gemini-key", "donate": "/donate-key"}
    assert s["provider"] == {"kind": "openai", "baseUrl": pool.provider.base_openai,
                             "model": "gpt-4o-mini", "prompt": "What is this?"}
    # the worker uses them: the next analysis goes to the OpenAI-style endpoint
    answer = ext.send({"type": "analyzeImage", "imageUrl": pool.provider.image_url},
                      timeout_ms=20_000)
    assert answer["ok"] is True and "What is this?" in answer["text"], answer
    assert pool.provider.count("/v1/chat/completions") == 1


def test_hedge_delay_empty_means_automatic(ext, pool):
    ext.settings(hedgeDelayMs=300)
    page = open_options(ext)
    expect(page.locator("#hedgeDelayMs")).to_have_value("300")
    page.fill("#hedgeDelayMs", "")
    save(page)
    assert "hedgeDelayMs" not in stored(ext)
    assert ext.send({"type": "getSettings"})["settings"].get("hedgeDelayMs") is None


# --------------------------------------------------------------- refusing

BAD_FIELDS = {
    "servers": ("http://ok.example/api\nftp://files.example/api", "Line 2"),
    "keyTimeoutMs": ("fast", "whole number"),
    "healthTimeoutMs": ("5", "between 100 and 60000 ms"),
    "hedgeDelayMs": ("-1", "whole number"),
    "endpoint-health": ("health", "starting with /"),
    "provider-baseUrl": ("generativelanguage.googleapis.com", "http:// or https://"),
    "provider-model": ("m" * 201, "At most 200 characters"),
}


def test_bad_values_get_inline_errors_and_nothing_is_saved(ext, pool):
    before = stored(ext)
    page = open_options(ext)
    for field_id, (value, _) in BAD_FIELDS.items():
        page.fill(f"#{field_id}", value)
    page.click("#save")
    expect(page.locator("#save-message")).to_contain_text(f"Nothing was saved: {len(BAD_FIELDS)} fields")
    expect(page.locator("#save-message")).to_have_attribute("data-level", "error")
    for field_id, (_, expected) in BAD_FIELDS.items():
        expect(field_error(page, field_id)).to_contain_text(expected)
        expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#servers")).to_be_focused()  # the first invalid field
    assert stored(ext) == before

    # editing a field clears its error; fixing them all saves
    page.fill("#keyTimeoutMs", "2000")
    expect(field_error(page, "keyTimeoutMs")).to_be_hidden()
    expect(page.locator("#keyTimeoutMs")).not_to_have_attribute("aria-invalid", "true")
    page.fill("#servers", pool.servers[0].base)
    page.fill("#healthTimeoutMs", "1000")
    page.fill("#hedgeDelayMs", "")
    page.fill("#endpoint-health", "/health")
    page.fill("#provider-baseUrl", pool.provider.base_gemini)
    page.fill("#provider-model", "gemini-2.5-flash")
    save(page)
    assert stored(ext)["servers"] == [pool.servers[0].base]
    assert stored(ext)["keyTimeoutMs"] == 2000


def test_server_list_limits(ext, pool):
    before = stored(ext)
    page = open_options(ext)
    page.fill("#servers", "\n".join(f"http://s{i}.example/api" for i in range(21)))
    page.click("#save")
    expect(field_error(page, "servers")).to_contain_text("At most 20 servers; you entered 21")
    page.fill("#servers", "http://keys.example/api?x=1")
    page.click("#save")
    expect(field_error(page, "servers")).to_contain_text("Line 1")
    assert stored(ext) == before


def test_first_ejection_may_not_exceed_the_longest(ext, pool):
    page = open_options(ext)
    page.fill("#ejectionBaseMs", "5000")
    page.fill("#failedResetMs", "4000")
    page.click("#save")
    expect(field_error(page, "ejectionBaseMs")).to_contain_text("Must not be longer")
    assert stored(ext)["failedResetMs"] == 3000


# --------------------------------------------------------------- host permissions

def test_a_new_host_is_requested_and_a_refusal_saves_nothing(ext, pool):
    before = stored(ext)
    page = open_options(ext)
    stub_permission_request(page, False)
    page.fill("#servers", f"{pool.servers[0].base}\nhttps://keys.example.org/api")
    page.click("#save")
    message = page.locator("#save-message")
    expect(message).to_contain_text("did not give Keypool access to keys.example.org")
    expect(message).to_contain_text("Nothing was saved")
    expect(field_error(page, "servers")).to_contain_text("keys.example.org")
    asked = page.evaluate("() => window.__asked")
    assert len(asked) == 1
    assert "https://keys.example.org/*" in asked[0]["origins"]
    assert stored(ext) == before


def test_a_granted_host_is_saved(ext, pool):
    page = open_options(ext)
    stub_permission_request(page, True)
    page.fill("#servers", f"{pool.servers[0].base}\nhttps://keys.example.org/api")
    save(page)
    assert stored(ext)["servers"] == [pool.servers[0].base, "https://keys.example.org/api"]
    origins = page.evaluate("() => window.__asked")[0]["origins"]
    # one pattern per scheme and host, any port (core.urls.host_pattern, as the manifest's):
    # the mock server and the mock provider share http://localhost/*
    assert set(origins) == {"http://localhost/*", "https://keys.example.org/*"}


def test_hosts_already_allowed_save_without_a_prompt(ext, pool):
    """The real chrome.permissions.request: localhost is in host_permissions, no prompt."""
    page = open_options(ext)
    page.fill("#keyTimeoutMs", "1800")
    save(page)
    assert stored(ext)["keyTimeoutMs"] == 1800


# --------------------------------------------------------------- reset

def test_reset_to_defaults_and_undo(ext, pool):
    before = stored(ext)
    page = open_options(ext)
    page.click("#reset")
    expect(page.locator("#save-message")).to_contain_text("Defaults restored")
    assert stored(ext) is None
    defaults = build_defaults()
    expect(page.locator("#servers")).to_have_value("\n".join(defaults["servers"]))
    expect(page.locator("#keyTimeoutMs")).to_have_value(str(defaults["keyTimeoutMs"]))
    expect(page.locator("#provider-baseUrl")).to_have_value(defaults["provider"]["baseUrl"])
    assert ext.send({"type": "getSettings"})["settings"]["servers"] == defaults["servers"]

    page.click("#undo")
    expect(page.locator("#save-message")).to_contain_text("previous settings are back")
    assert stored(ext) == before
    expect(page.locator("#servers")).to_have_value("\n".join(pool.urls()))


def test_saving_the_defaults_stores_nothing(ext, pool):
    page = open_options(ext)
    page.click("#reset")
    expect(page.locator("#save-message")).to_contain_text("Defaults restored")
    save(page)
    assert stored(ext) is None


def test_the_form_follows_changes_made_elsewhere(ext, pool):
    page = open_options(ext)
    ext.settings(keyTimeoutMs=4321)
    expect(page.locator("#keyTimeoutMs")).to_have_value("4321")


# --------------------------------------------------------------- screenshots

@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_options_screenshot(ext, pool, scheme):
    ext.settings(bogus=True)
    page = open_options(ext, dark=scheme == "dark")
    expect(page.locator("#warnings")).to_be_visible()
    page.fill("#healthTimeoutMs", "12")
    page.click("#save")
    expect(field_error(page, "healthTimeoutMs")).to_be_visible()
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 900, "height": min(height, 2400)})
    page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
    path = ext.screenshot(page, f"options-{scheme}")
    assert path.stat().st_size > 10_000


# --------------------------------------------------------------- people's words (issue 9)

def test_the_timings_sit_under_advanced(ext, pool):
    page = open_options(ext, advanced=False)
    expect(page.locator("#advanced")).not_to_have_attribute("open", "")
    expect(page.locator("#keyTimeoutMs")).to_be_hidden()
    expect(page.locator("#servers")).to_be_visible()
    # an error in a closed "Advanced" opens it, and focus lands on the field
    page.evaluate("() => { document.getElementById('keyTimeoutMs').value = 'soon'; }")
    page.click("#save")
    expect(page.locator("#keyTimeoutMs")).to_be_visible()
    expect(page.locator("#keyTimeoutMs")).to_be_focused()
    expect(field_error(page, "keyTimeoutMs")).to_contain_text("whole number")


def test_every_empty_field_takes_its_default(ext, pool):
    defaults = build_defaults()
    page = open_options(ext)
    for field_id in ["servers", "keyTimeoutMs", "endpoint-key", "provider-baseUrl",
                     "provider-model", "provider-prompt"]:
        page.fill(f"#{field_id}", "")
    save(page)
    settings = ext.send({"type": "getSettings"})["settings"]
    assert settings["servers"] == defaults["servers"]
    assert settings["keyTimeoutMs"] == defaults["keyTimeoutMs"]
    assert settings["endpoints"]["key"] == defaults["endpoints"]["key"]
    assert settings["provider"]["baseUrl"] == defaults["provider"]["baseUrl"]
    assert settings["provider"]["model"] == defaults["provider"]["model"]
    assert settings["provider"]["prompt"] == defaults["provider"]["prompt"]


def test_leaving_with_unsaved_changes_warns(ext, pool):
    page = open_options(ext)
    page.fill("#keyTimeoutMs", "2500")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.close(run_before_unload=True)
    ext.wait_for(lambda: dialogs, timeout_s=5, message="a beforeunload dialog")
    assert dialogs == ["beforeunload"]
    # saved: leaving asks nothing
    page = open_options(ext)
    page.fill("#keyTimeoutMs", "2500")
    save(page)
    quiet = []
    page.on("dialog", lambda d: (quiet.append(d.type), d.dismiss()))
    page.close(run_before_unload=True)
    ext.page.wait_for_timeout(300)
    assert quiet == []
