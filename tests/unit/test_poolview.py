"""What the popup, the set-up page and the badge say about the pool (core.poolview), and times."""
from core.poolview import (CHECKING_TEXT, NO_SERVER_TEXT, READY_TEXT, STALE_MS, VIEW_AVAILABLE,
                           VIEW_FAILED, VIEW_PROBATION, VIEW_UNCHECKED, pool_mark, row_view,
                           stale_urls, status_line, with_checks)
from ui.fmt import back_in_text, span_text

NOW = 10_000_000


def ok(url, checked_at=None):
    row = {"url": url, "state": "available"}
    if checked_at is not None:
        row["checkedAt"] = checked_at
    return row


def failed(url):
    return {"url": url, "state": "failed", "failedAt": NOW - 1000, "retryAt": NOW + 60_000,
            "failures": 1, "kind": "refused", "reason": "connection refused"}


def probation(url):
    return {"url": url, "state": "available", "failedAt": NOW - 9000, "failures": 1,
            "probation": True, "kind": "refused", "reason": "connection refused"}


class TestRowView:
    def test_a_server_never_contacted_is_not_checked_yet(self):
        assert row_view(ok("a"), NOW, STALE_MS) == VIEW_UNCHECKED

    def test_a_recent_answer_makes_it_available(self):
        assert row_view(ok("a", NOW - 1000), NOW, STALE_MS) == VIEW_AVAILABLE

    def test_an_old_answer_no_longer_vouches(self):
        assert row_view(ok("a", NOW - STALE_MS - 1), NOW, STALE_MS) == VIEW_UNCHECKED

    def test_an_answer_from_the_future_does_not_vouch(self):
        assert row_view(ok("a", NOW + 60_000), NOW, STALE_MS) == VIEW_UNCHECKED

    def test_failed_and_probation_stay_what_they_are(self):
        assert row_view(failed("a"), NOW, STALE_MS) == VIEW_FAILED
        assert row_view(probation("a"), NOW, STALE_MS) == VIEW_PROBATION

    def test_checks_are_attached_by_url(self):
        rows = with_checks([ok("a"), ok("b")], {"b": NOW})
        assert "checkedAt" not in rows[0] and rows[1]["checkedAt"] == NOW
        assert stale_urls(rows, NOW, STALE_MS) == ["a"]
        assert with_checks([ok("a")], None)[0] == {"url": "a", "state": "available"}


class TestStatusLine:
    def test_nothing_checked_says_checking_not_ready(self):
        assert status_line(None, [ok("a"), ok("b")], NOW)["text"] == CHECKING_TEXT

    def test_all_answered_is_ready(self):
        line = status_line(None, [ok("a", NOW), ok("b", NOW)], NOW)
        assert line == {"text": READY_TEXT, "level": "info", "noServer": False}

    def test_degraded_pool_says_how_many_are_out(self):
        rows = [failed("a"), failed("b"), probation("c"), ok("d", NOW), ok("e", NOW)]
        line = status_line(None, rows, NOW)
        assert line["text"] == "3 of 5 key servers are out" and line["level"] == "warning"
        assert status_line(None, [failed("a"), ok("b", NOW)], NOW)["text"] == \
            "1 of 2 key servers is out"

    def test_a_success_keeps_its_text_and_adds_the_outage(self):
        status = {"text": "✅ Analysis complete", "level": "success", "at": NOW - 5000}
        rows = [failed("a"), ok("b", NOW)]
        assert status_line(status, rows, NOW)["text"] == "✅ Analysis complete · 1 of 2 key servers is out"

    def test_no_server_left_is_one_actionable_message(self):
        status = {"text": "❌ Every key server failed", "level": "error", "at": NOW - 100}
        line = status_line(status, [failed("a"), probation("b")], NOW)
        assert line == {"text": NO_SERVER_TEXT, "level": "error", "noServer": True}

    def test_work_under_way_is_shown_even_with_no_server(self):
        status = {"text": "🔄 Getting API key...", "level": "info", "at": NOW - 100}
        assert status_line(status, [failed("a")], NOW)["text"] == "🔄 Getting API key..."

    def test_a_stale_info_status_is_a_leftover(self):
        status = {"text": "🔄 Getting API key...", "level": "info", "at": NOW - 120_000}
        assert status_line(status, [failed("a")], NOW)["noServer"] is True

    def test_an_error_with_servers_left_is_shown(self):
        status = {"text": "❌ The AI provider refused", "level": "error", "at": NOW - 100}
        assert status_line(status, [ok("a", NOW)], NOW)["text"] == "❌ The AI provider refused"


class TestPoolMark:
    def test_a_lasting_mark_only_while_no_server_is_reachable(self):
        assert pool_mark([failed("a"), probation("b")])["text"] == "!"
        assert "no key server" in pool_mark([failed("a")])["title"]
        assert pool_mark([failed("a"), ok("b")]) == {"text": "", "title": ""}
        assert pool_mark([])["text"] == ""


class TestTimes:
    def test_rounded_to_the_nearest_unit(self):
        assert span_text(117_000) == "2 min"
        assert span_text(89_000) == "1 min"
        assert span_text(90_000) == "2 min"
        assert span_text(59_400) == "59 s"
        assert span_text(5_400_000) == "2 h"
        assert back_in_text(NOW + 117_000, NOW) == "back in 2 min"


def test_checked_times_are_read_for_configured_servers_only():
    from core.poolview import checked_from
    ledger = {"servers": {}, "checkedAt": {"a": 5, "gone": 7, "b": "x"}}
    assert checked_from(ledger, ["a", "b"]) == {"a": 5}
    assert checked_from(None, ["a"]) == {}
