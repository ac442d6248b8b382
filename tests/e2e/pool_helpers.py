"""Small helpers shared by the failover and resilience tests."""
import time


def status_rows(ext):
    """getPoolStatus rows by server URL."""
    answer = ext.send({"type": "getPoolStatus"})
    assert answer["ok"] is True
    return {row["url"]: row for row in answer["servers"]}


def pin_random(ext, values):
    """The worker's Math.random returns `values` in turn, then the last one forever.

    A pick with 0.0 takes the first candidate in server order, so a test can
    say which server a fetch asks first instead of hoping the dice land there.
    """
    ext.sw_eval("""(vals) => { let i = 0;
        Math.random = () => vals[Math.min(i++, vals.length - 1)]; }""", list(values))


def attempts_on(ext, url, since=0):
    """How many key attempts the worker started on url (its contract lines), after log line `since`."""
    return sum(1 for t in ext.log_texts()[since:]
               if t.startswith("Attempt ") and t.endswith(f": Trying server {url}"))


def get_key(ext, timeout_ms=30000):
    """(answer, seconds) of one getApiKey message."""
    started = time.monotonic()
    answer = ext.send({"type": "getApiKey"}, timeout_ms=timeout_ms)
    return answer, time.monotonic() - started
