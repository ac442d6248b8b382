"""Issue 9: answers people can read. Markdown rendered from tokens (safe by construction),
Copy, Show all, the question field, history, the panel's "Analyzing…", announcements.

The mock provider echoes the prompt in its answer, so a question in markdown makes an
answer in markdown.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import open_popup

pytestmark = pytest.mark.e2e

GEMINI_PATH = "/v1beta/models/gemini-2.5-flash:generateContent"

MARKDOWN = """Look closely.

## Overview

An **orange tabby cat** on a *sofa*, with `code` and ~~no~~.

- first point
- second point

1. one
2. two

| Animal | Colour |
|---|---|
| cat | orange |

```
fenced block
```

[a safe link](https://example.org/page) and [a bad one](javascript:window.__xss=1) and
[data](data:text/html,hi) [mail](mailto:a@example.org) [relative](page.html)
[ftp](ftp://example.org/f) <img src=x onerror="window.__xss=2"> <b>raw</b>

![a picture](https://example.org/p.png)

<script>window.__xss=3</script>
"""



def provider_prompts(pool) -> list[str]:
    calls = [r for r in pool.provider.requests if r.path == GEMINI_PATH]
    return [c.json["contents"][0]["parts"][0]["text"] for c in calls]


def analyze_with_question(page, pool, question: str) -> None:
    page.fill("#image-url", pool.provider.image_url)
    page.fill("#question", question)
    page.click("#analyze-url")
    expect(page.locator("#last-meta")).to_contain_text("Key from", timeout=20_000)


def test_markdown_is_rendered_and_hostile_parts_stay_inert(ext, pool):
    answer = ext.send({"type": "analyzeImage", "imageUrl": pool.provider.image_url,
                       "question": MARKDOWN}, timeout_ms=20_000)
    assert answer["ok"] is True, answer
    page = open_popup(ext)
    answer = page.locator("#last-text")
    expect(answer.locator("h3")).to_have_text("Overview")       # its top heading, under an h2
    expect(answer.locator("strong")).to_have_text("orange tabby cat")
    expect(answer.locator("em")).to_have_text("sofa")
    expect(answer.locator("code").first).to_have_text("code")
    expect(answer.locator("ul li")).to_have_count(2)
    expect(answer.locator("ol li")).to_have_count(2)
    expect(answer.locator("table th")).to_have_text(["Animal", "Colour"])
    expect(answer.locator("table td")).to_have_text(["cat", "orange"])
    expect(answer.locator("pre code")).to_have_text("fenced block")
    links = answer.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/page")
    expect(links).to_have_attribute("target", "_blank")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    # inert: no element the provider named, no image loaded, nothing ran
    assert answer.locator("img, script, b, iframe").count() == 0
    assert page.evaluate("() => window.__xss") is None
    text = answer.inner_text()
    assert "a bad one" in text and "<b>raw</b>" in text and "[image: a picture]" in text
    assert "mail" in text and "relative" in text and "ftp" in text   # text, not links
    assert "<script>" in text
    # the prompt asked was the question, not the configured one
    assert provider_prompts(pool) == [MARKDOWN.strip()]
    ext.screenshot(page, "answer-markdown-light")


def test_the_question_field_is_asked_instead_of_the_prompt(ext, pool):
    page = open_popup(ext)
    analyze_with_question(page, pool, "  What is the answer to question 3?  ")
    assert provider_prompts(pool) == ["What is the answer to question 3?"]


def test_an_empty_question_asks_the_configured_prompt(ext, pool):
    page = open_popup(ext)
    analyze_with_question(page, pool, "   ")
    assert provider_prompts(pool) == ["Describe this image."]


def test_copy_puts_the_answer_on_the_clipboard_and_says_so(ext, pool):
    page = open_popup(ext)
    page.evaluate("""() => { window.__copied = [];
        navigator.clipboard.writeText = async (t) => { window.__copied.push(t); }; }""")
    analyze_with_question(page, pool, "What is this?")
    page.click("#copy")
    expect(page.locator("#copy")).to_have_text("Copied")
    expect(page.locator("#announce")).to_have_text("Answer copied.")
    last = ext.storage("session", "lastAnalysis")
    assert page.evaluate("() => window.__copied") == [last["text"]]


def test_a_long_answer_can_be_shown_whole(ext, pool):
    page = open_popup(ext)
    analyze_with_question(page, pool, "\n\n" + "\n\n".join(f"Paragraph {i} " * 8 for i in range(30)))
    box = page.locator("#last-text")
    assert box.evaluate("b => b.scrollHeight > b.clientHeight")
    expect(page.locator("#expand")).to_be_visible()
    page.click("#expand")
    expect(page.locator("#expand")).to_have_attribute("aria-expanded", "true")
    assert box.evaluate("b => b.scrollHeight <= b.clientHeight + 2")


def test_history_keeps_the_last_ten_without_keys(ext, pool):
    for i in range(12):
        answer = ext.send({"type": "analyzeImage", "imageUrl": pool.provider.image_url,
                           "question": f"question {i}"}, timeout_ms=20_000)
        assert answer["ok"] is True, answer
    history = ext.storage("session", "history")
    assert len(history) == 10
    assert history[0]["text"].endswith("question 11") and history[9]["text"].endswith("question 2")
    assert set(history[0]) == {"imageUrl", "text", "at"}
    stored = json.dumps(history)
    assert not any(s.key in stored for s in pool.servers)
    page = open_popup(ext)
    expect(page.locator("#history-toggle")).to_have_text("Earlier (10)")
    page.click("#history-toggle")
    expect(page.locator("#history-list li")).to_have_count(10)
    expect(page.locator("#history-list li").first).to_contain_text("question 11")


def test_a_new_result_is_announced_once_outside_the_ticking_status(ext, pool):
    page = open_popup(ext)
    # the age beside the status ticks every second: it must sit outside the live region
    live = page.locator("[aria-live='polite'], [role='status']")
    assert page.locator("[role='status'] #status-age, #status-age[role='status']").count() == 0
    assert live.count() == 2
    analyze_with_question(page, pool, "What is this?")
    expect(page.locator("#announce")).to_contain_text("Analysis ready: Mock description")
    expect(page.locator("#last-title")).to_be_focused()
    writes = page.evaluate("""() => new Promise(done => {
        let n = 0; const o = new MutationObserver(m => { n += m.length; });
        o.observe(document.getElementById('announce'), {childList: true, characterData: true, subtree: true});
        o.observe(document.getElementById('status-text'), {childList: true, characterData: true, subtree: true});
        setTimeout(() => { o.disconnect(); done(n); }, 2500); })""")
    assert writes == 0, "a live region was rewritten while nothing new happened"


def _panel(ext, tab_id: int) -> dict:
    """What the panel shows, read in the extension's isolated world (the page cannot)."""
    return ext.page.evaluate("""(tabId) => chrome.scripting.executeScript({target: {tabId},
        func: () => globalThis.__keypoolPanel ? globalThis.__keypoolPanel.inspect() : null})
        .then(r => r[0].result)""", tab_id)


def test_the_panel_says_analyzing_at_once_then_renders_the_answer(ext, pool):
    ext.settings(provider={**pool.settings["provider"], "prompt": MARKDOWN})
    pool.provider.set_mode("hang", GEMINI_PATH)
    page = ext.ctx.new_page()
    page.goto(pool.provider.page_url)
    tab_id = ext.tab_id(pool.provider.page_url)
    ext.set_storage("session", {"consentedTabs": [tab_id]})   # asked once per tab: test_consent.py
    ext.dispatch_context_menu(
        {"menuItemId": "analyze-image", "srcUrl": pool.provider.image_url,
         "pageUrl": pool.provider.page_url, "mediaType": "image", "editable": False},
        {"id": tab_id, "url": pool.provider.page_url, "active": True})
    got = ext.wait_for(lambda: _panel(ext, tab_id), timeout_s=10, message="the panel")
    assert got["state"]["text"] == "Analyzing…"
    assert got["state"]["subject"] == "Image: " + pool.provider.image_url
    pool.provider.set_mode("ok", GEMINI_PATH)
    got = ext.wait_for(lambda: (lambda p: p if p and p["state"]["level"] == "success" else None)(
        _panel(ext, tab_id)), timeout_s=20, message="the answer in the panel")
    assert got["state"]["markdown"] is True
    assert got["texts"] > 10
    assert {"h3", "strong", "em", "ul", "ol", "table", "th", "td", "pre", "code"} <= set(got["tags"])
    assert not {"img", "script", "b", "iframe"} & set(got["tags"])
    assert got["links"] == ["https://example.org/page"]
    # the page sees no text of it (README "Security model")
    assert page.evaluate("() => document.body.innerText.includes('Mock description')") is False
