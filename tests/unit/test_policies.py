"""Ejection growth and cap, jitter bounds, Retry-After, hedge delay, settings edge cases."""
import random
from email.utils import format_datetime
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from core.ejection import JITTER_FRACTION, ejection_ms, retry_after_ejection_ms
from core.hedge import CEILING_MS, COLD_DELAY_MS, FLOOR_MS, hedge_delay_ms, remember_latency
from core.retry_after import parse_http_date_ms, retry_after_ms


class TestEjection:
    def test_doubles_with_each_consecutive_failure_until_the_cap(self):
        no_jitter = lambda: 0.0  # noqa: E731
        assert [ejection_ms(n, 5000, 300000, no_jitter) for n in range(1, 9)] == [
            5000, 10000, 20000, 40000, 80000, 160000, 300000, 300000]

    @given(n=st.integers(1, 10**6), base=st.integers(100, 10**6), cap=st.integers(1000, 10**8),
           r=st.floats(0, 1))
    def test_jitter_stays_within_bounds_and_never_exceeds_the_cap(self, n, base, cap, r):
        d = min(cap, base * 2 ** min(n - 1, 60))
        got = ejection_ms(n, base, cap, lambda: r)
        assert int(d * (1 - JITTER_FRACTION)) <= got <= d <= cap

    def test_retry_after_is_exact_and_capped(self):
        assert retry_after_ejection_ms(7000, 300000) == 7000
        assert retry_after_ejection_ms(10**9, 300000) == 300000
        assert retry_after_ejection_ms(-5, 300000) == 0


class TestRetryAfter:
    @given(seconds=st.integers(0, 10**7))
    def test_delay_seconds(self, seconds):
        assert retry_after_ms(str(seconds), 0) == seconds * 1000

    @given(ts=st.integers(0, 4102444800), now_offset=st.integers(-10**6, 10**6))
    def test_http_dates_agree_with_the_stdlib(self, ts, now_offset):
        text = format_datetime(datetime.fromtimestamp(ts, timezone.utc), usegmt=True)
        assert parse_http_date_ms(text) == ts * 1000
        now_ms = ts * 1000 + now_offset * 1000
        assert retry_after_ms(text, now_ms) == max(0, -now_offset * 1000)

    @given(text=st.text(max_size=40))
    def test_garbage_never_raises(self, text):
        got = retry_after_ms(text, 0)
        assert got is None or got >= 0


class TestHedgeDelay:
    def test_cold_start_uses_the_fixed_guess(self):
        assert hedge_delay_ms(None, []) == COLD_DELAY_MS

    @given(samples=st.lists(st.floats(0, 10**6), min_size=5, max_size=32))
    def test_derived_delay_is_within_floor_and_ceiling(self, samples):
        assert FLOOR_MS <= hedge_delay_ms(None, samples) <= CEILING_MS

    def test_configured_value_wins_and_zero_turns_it_off(self):
        assert hedge_delay_ms(0, [5] * 10) == 0
        assert hedge_delay_ms(4000, [5] * 10) == 4000

    def test_latency_window_keeps_the_newest_32(self):
        window = []
        for i in range(100):
            window = remember_latency(window, i)
        assert window == list(range(68, 100))

    def test_a_slow_tail_raises_the_delay(self):
        rng = random.Random(1)
        fast = [rng.uniform(5, 15) for _ in range(30)]
        slow_tail = fast[:27] + [300, 320, 340]
        assert hedge_delay_ms(None, slow_tail) > hedge_delay_ms(None, fast)


class TestHttpDateCalendar:
    """Month and century edges of the day count (days_from_civil), against the stdlib."""

    DATES = ["Sat, 01 Jan 2000 00:00:00 GMT", "Tue, 29 Feb 2000 12:00:00 GMT",
             "Wed, 01 Mar 2000 00:00:00 GMT", "Sun, 28 Feb 2100 23:59:59 GMT",
             "Mon, 01 Mar 2100 00:00:00 GMT", "Fri, 31 Dec 1999 23:59:59 GMT",
             "Thu, 01 Jan 1970 00:00:00 GMT", "Tue, 01 Mar 2022 00:00:00 GMT",
             "Mon, 28 Feb 2022 00:00:00 GMT", "Sat, 30 Apr 2022 06:07:08 GMT",
             "Fri, 01 Mar 2024 00:00:00 GMT", "Thu, 29 Feb 2024 00:00:00 GMT",
             "Sat, 01 Mar 2400 00:00:00 GMT", "Tue, 29 Feb 2400 00:00:00 GMT"]

    def test_each_date_is_the_stdlib_one(self):
        from email.utils import parsedate_to_datetime
        for text in self.DATES:
            expected = int(parsedate_to_datetime(text).timestamp()) * 1000
            assert parse_http_date_ms(text) == expected, text
