"""The two README screenshots (docs/popup-healthy.png, docs/popup-degraded.png), drawn anew.

Written to test-artifacts/screenshots/readme-*.png at every run; the docs/ copies are
those files, committed (ports and times differ from run to run, so they are not compared).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

WIDTH = 380
LONG_EJECTION = {"ejectionBaseMs": 60_000, "failedResetMs": 120_000}
ANSWER = ("A cat on a sofa.\n\n## Overview\n\nAn **orange tabby cat** lies on a *grey* sofa.\n\n"
          "- ears up\n- eyes half closed\n\n| what | colour |\n|---|---|\n| cat | orange |")


def popup(ext):
    page = ext.ctx.new_page()
    page.set_viewport_size({"width": WIDTH, "height": 600})
    page.emulate_media(color_scheme="light")
    page.goto(ext.url("popup.html"))
    return page


def fit(page):
    page.set_viewport_size({"width": WIDTH, "height": 200})
    height = page.evaluate("() => Math.ceil(document.documentElement.scrollHeight)")
    page.set_viewport_size({"width": WIDTH, "height": min(max(height, 200), 600)})


def test_readme_popup_healthy(ext, pool):
    answer = ext.send({"type": "analyzeImage", "imageUrl": pool.provider.image_url,
                       "question": ANSWER}, timeout_ms=20_000)
    assert answer["ok"] is True, answer
    page = popup(ext)
    expect(page.locator("#pool-summary")).to_have_text("5 of 5 available", timeout=10_000)
    expect(page.locator("#last-text h3")).to_have_text("Overview")
    fit(page)
    path = ext.screenshot(page, "readme-popup-healthy")
    assert path.stat().st_size > 5_000
    assert (ROOT / "docs" / "popup-healthy.png").is_file()


def test_readme_popup_degraded(ext, pool):
    ext.settings(**LONG_EJECTION)
    pool.servers[1].set_mode("refuse")
    pool.servers[3].set_mode("retry_after", code=503, retry_after=120)
    pool.servers[4].set_mode("status_503")
    for i in (1, 3, 4):
        ext.send({"type": "retryServer", "url": pool.servers[i].base})
    page = popup(ext)
    expect(page.locator("#status-text")).to_have_text("3 of 5 key servers are out", timeout=10_000)
    fit(page)
    path = ext.screenshot(page, "readme-popup-degraded")
    assert path.stat().st_size > 5_000
    assert (ROOT / "docs" / "popup-degraded.png").is_file()
