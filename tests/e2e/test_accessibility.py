"""Issue 9: 0 axe-core violations in every popup, options, set-up and privacy state tested,
light and dark; focus after each action. axe-core is pinned in package.json (npm ci).

Every state is also saved as a screenshot: test-artifacts/screenshots/a11y-<state>-<scheme>.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
POPUP_SIZE = {"width": 380, "height": 600}
LONG_EJECTION = {"ejectionBaseMs": 60_000, "failedResetMs": 120_000}
SCHEMES = ["light", "dark"]


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page (every rule axe runs by default)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        # Through CDP, not a <script>: the extension's CSP blocks inline scripts (TESTING.md §10).
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]],
             "summary": v["nodes"][0].get("failureSummary", "")} for v in result["violations"]]


def open_page(ext, path: str, scheme: str, size=None):
    page = ext.ctx.new_page()
    if size:
        page.set_viewport_size(size)
    page.emulate_media(color_scheme=scheme)
    page.goto(ext.url(path))
    return page


def check(ext, page, name: str, scheme: str) -> None:
    page.wait_for_timeout(50)  # let the last render land (transitions: none)
    ext.screenshot(page, f"a11y-{name}-{scheme}")
    violations = axe_violations(page)
    assert violations == [], violations


@pytest.mark.parametrize("scheme", SCHEMES)
def test_popup_healthy_with_an_answer(ext, pool, scheme):
    assert ext.send({"type": "analyzeImage", "imageUrl": pool.provider.image_url},
                    timeout_ms=20_000)["ok"] is True
    page = open_page(ext, "popup.html", scheme, POPUP_SIZE)
    for server in pool.servers:
        expect(page.locator(f'#pool li[data-url="{server.base}"]')).to_have_attribute(
            "data-state", "available", timeout=10_000)
    expect(page.locator("#copy")).to_be_visible()
    page.click("#history-toggle")
    check(ext, page, "popup-healthy", scheme)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_popup_degraded_with_retry_buttons(ext, pool, scheme):
    ext.settings(**LONG_EJECTION)
    for server in pool.servers[:3]:
        server.set_mode("refuse")
        ext.send({"type": "retryServer", "url": server.base})
    page = open_page(ext, "popup.html", scheme, POPUP_SIZE)
    expect(page.locator("#status-text")).to_have_text("3 of 5 key servers are out", timeout=10_000)
    retry = page.locator(f'#pool li[data-url="{pool.servers[0].base}"] button.retry')
    # named as it reads: "Retry now" (label-content-name-mismatch), the server as its description
    expect(retry).to_have_accessible_name("Retry now")
    expect(retry).to_have_accessible_description(pool.servers[0].base.split("://")[1])
    page.click("#donate-section summary")
    check(ext, page, "popup-degraded", scheme)
    # focus stays on the button after "Retry now" on a server still down
    retry.click()
    expect(page.locator(f'#pool li[data-url="{pool.servers[0].base}"] .server-note')).to_contain_text(
        "Still failing", timeout=10_000)
    expect(retry).to_be_focused()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_popup_with_no_server(ext, pool, scheme):
    pool.set_all("refuse")
    page = open_page(ext, "popup.html", scheme, POPUP_SIZE)
    expect(page.locator("#no-server")).to_be_visible(timeout=10_000)
    check(ext, page, "popup-no-server", scheme)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_popup_with_errors_in_the_forms(ext, pool, scheme):
    page = open_page(ext, "popup.html", scheme, POPUP_SIZE)
    page.click("#analyze-url")                       # empty address
    expect(page.locator("#analyze-message")).to_be_visible()
    expect(page.locator("#image-url")).to_be_focused()
    page.click("#donate-section summary")
    page.click("#donate")                            # empty key
    expect(page.locator("#donate-key-error")).to_be_visible()
    check(ext, page, "popup-form-errors", scheme)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_options_page(ext, pool, scheme):
    page = open_page(ext, "options.html", scheme)
    expect(page.locator("#servers")).not_to_have_value("", timeout=10_000)
    check(ext, page, "options", scheme)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_set_up_page_ready_and_with_an_error(ext, pool, scheme):
    page = open_page(ext, "setup.html", scheme)
    expect(page.locator("#setup-summary")).to_contain_text("Ready", timeout=10_000)
    check(ext, page, "setup-ready", scheme)
    page.fill("#servers-input", "not a url")
    page.click("#save-servers")
    expect(page.locator("#servers-error")).to_be_visible()
    check(ext, page, "setup-error", scheme)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_privacy_page(ext, scheme):
    page = open_page(ext, "privacy.html", scheme)
    expect(page.locator("h1")).to_contain_text("sends where")
    check(ext, page, "privacy", scheme)


def test_focus_after_a_donation_goes_to_its_outcome(ext, pool):
    page = open_page(ext, "popup.html", "light", POPUP_SIZE)
    page.click("#donate-section summary")
    page.fill("#donate-key", "AIzaSyFOCUS00000000000000000000000000000")
    page.click("#donate")
    expect(page.locator("#donate-message")).to_contain_text("Thank you", timeout=10_000)
    expect(page.locator("#donate-message")).to_be_focused()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_popup_asking_for_consent_and_set_up_with_no_server(ext, pool, scheme):
    tab = ext.ctx.new_page()
    tab.goto(pool.provider.page_url)
    page = open_page(ext, "popup.html", scheme, POPUP_SIZE)
    page.click("#analyze-tab")
    expect(page.locator("#consent")).to_be_visible(timeout=10_000)
    check(ext, page, "popup-consent", scheme)
    pool.set_all("refuse")
    setup = open_page(ext, "setup.html", scheme)
    expect(setup.locator("#setup-summary")).to_contain_text("No key server answered", timeout=10_000)
    check(ext, setup, "setup-no-server", scheme)
