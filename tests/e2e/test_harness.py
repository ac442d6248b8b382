"""The e2e harness itself: the built extension loads, its SW answers, restarts, logs."""

from __future__ import annotations

import time
import tomllib
import urllib.request

from tests.e2e.conftest import ROOT


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def test_extension_loads_with_the_project_version(ext):
    manifest = ext.page.evaluate("() => chrome.runtime.getManifest()")
    assert manifest["manifest_version"] == 3
    assert manifest["version"] == project_version()
    assert len(ext.id) == 32 and set(ext.id) <= set("abcdefghijklmnop")


def test_service_worker_is_background_js(ext):
    assert ext.sw.url == ext.url("js/background.js")


def test_sw_answers_get_pool_status(ext):
    answer = ext.send({"type": "getPoolStatus"})
    assert isinstance(answer, dict) and answer.get("ok") is True, answer
    assert isinstance(answer.get("servers"), list)


def test_pool_status_lists_the_configured_mock_servers(ext, pool):
    assert ext.storage("local", "settings")["servers"] == pool.urls()
    answer = ext.send({"type": "getPoolStatus"})
    assert answer["ok"] is True, answer
    assert [s["url"] for s in answer["servers"]] == pool.urls()
    assert all(s["state"] == "available" for s in answer["servers"])


def test_unknown_message_answers_not_ok(ext):
    answer = ext.send({"type": "noSuchMessage"})
    assert answer["ok"] is False and answer.get("error"), answer


def test_stopped_sw_restarts_on_a_message_with_fresh_globals(ext):
    ext.wake()
    ext.sw.evaluate("() => { globalThis.__harnessMark = 42; }")
    assert ext.sw.evaluate("() => globalThis.__harnessMark") == 42
    assert ext.stop_sw() == 1
    t0 = time.monotonic()
    answer = ext.send({"type": "getPoolStatus"})
    assert time.monotonic() - t0 < 5
    assert answer["ok"] is True, answer
    # the same Worker object reaches the new instance, whose globals are fresh
    assert ext.sw.evaluate("() => globalThis.__harnessMark ?? null") is None


def test_session_storage_survives_a_sw_restart(ext):
    ext.set_storage("session", {"harness": {"n": 1}})
    ext.stop_sw()
    ext.wake()
    assert ext.storage("session", "harness") == {"n": 1}
    assert ext.sw_eval("() => chrome.storage.session.get('harness')") == {"harness": {"n": 1}}


def test_reset_left_storage_empty_and_no_alarms(ext):
    # Dirty it here, not in an earlier test: the check must not depend on test order.
    ext.set_storage("local", {"harness": 1})
    ext.set_storage("session", {"harness": 2})
    ext.page.evaluate("() => chrome.alarms.create('harness', {delayInMinutes: 5})")
    assert ext.page.evaluate("() => chrome.alarms.getAll()") != []
    ext.reset()
    assert ext.storage("local") == {}
    assert ext.storage("session") == {}
    assert ext.page.evaluate("() => chrome.alarms.getAll()") == []


def test_settings_merge(ext):
    ext.settings(keyTimeoutMs=1500)
    merged = ext.settings(healthTimeoutMs=1000)
    assert merged == {"keyTimeoutMs": 1500, "healthTimeoutMs": 1000}
    assert ext.storage("local", "settings") == merged


def test_console_capture_sees_sw_lines_after_a_restart(ext):
    ext.stop_sw()
    ext.wake()
    ext.sw.evaluate("() => console.log('[harness] marker from the SW')")
    ext.wait_for(lambda: "[harness] marker from the SW" in ext.log_texts(sw_only=True),
                 timeout_s=5, message="the SW's console line")
    line = next(x for x in ext.logs if x.text == "[harness] marker from the SW")
    assert line.type == "log" and line.url == ext.sw.url


def test_a_restarted_sw_logs_something_on_its_own(ext):
    """Whatever the SW logs while it boots or answers is captured after a restart."""
    ext.stop_sw()
    ext.send({"type": "getPoolStatus"})
    ext.wait_for(lambda: ext.log_texts(sw_only=True) or ext.chrome_log(), timeout_s=5,
                 message="any SW console line or chrome_debug.log line")


def test_chrome_debug_log_holds_console_lines(ext):
    ext.wake()
    ext.sw.evaluate("() => console.warn('[harness] to the debug log')")
    text = ext.wait_for(
        lambda: (log := ext.chrome_log()) and "[harness] to the debug log" in log and log,
        timeout_s=5, message="the line in chrome_debug.log")
    assert "CONSOLE" in text


def test_chrome_log_starts_at_the_test(ext):
    ext.wake()
    ext.sw.evaluate("() => console.warn('[harness] before the reset')")
    ext.wait_for(lambda: "[harness] before the reset" in ext.chrome_log(), timeout_s=5,
                 message="the line in chrome_debug.log")
    ext.reset()
    assert "[harness] before the reset" not in ext.chrome_log()


def test_context_menu_item_exists_and_can_be_dispatched(ext):
    ext.wake()
    has_dispatch = ext.sw.evaluate("() => typeof chrome.contextMenus.onClicked.dispatch")
    assert has_dispatch == "function"
    # update() resolves for an existing item and rejects otherwise (TESTING.md §6)
    ext.sw.evaluate("() => chrome.contextMenus.update('analyze-image', {})")


def test_open_and_screenshot(ext):
    page = ext.open("popup.html")
    page.set_viewport_size({"width": 360, "height": 240})
    path = ext.screenshot(page, "harness-page")
    assert path.stat().st_size > 100
    assert len(ext.ctx.pages) == 2


def test_reset_closed_the_extra_page(ext):
    ext.open("popup.html")
    assert len(ext.ctx.pages) == 2
    ext.reset()
    assert ext.ctx.pages == [ext.page]


def test_send_nowait_and_result(ext):
    handles = [ext.send_nowait({"type": "getPoolStatus"}) for _ in range(3)]
    answers = [ext.result(h) for h in handles]
    assert all(a["ok"] is True for a in answers), answers


def test_mocks_reset_between_tests(mocks):
    urllib.request.urlopen(mocks.servers[0].base + "/health", timeout=5).read()
    mocks.servers[1].set_mode("status_503")
    assert mocks.servers[0].requests != []
    mocks.reset()
    assert all(s.requests == [] for s in mocks.servers)
    assert urllib.request.urlopen(mocks.servers[1].base + "/health", timeout=5).status == 200
    assert len(set(mocks.urls())) == 5


def test_failover_console_lines_are_captured_after_a_restart(ext, pool):
    """CONTRACT §5: a key fetch after a cold start logs its first line, and we see it."""
    ext.stop_sw()
    answer = ext.send({"type": "getApiKey"})
    assert answer["ok"] is True, answer
    start = "🔄 Starting API key fetch with server failover..."
    ext.wait_for(lambda: start in ext.log_texts(sw_only=True), timeout_s=5,
                 message="the failover start line in the console capture")
    ext.wait_for(lambda: start in ext.chrome_log(), timeout_s=5,
                 message="the failover start line in chrome_debug.log")
    assert pool.count("/gemini-key") >= 1
