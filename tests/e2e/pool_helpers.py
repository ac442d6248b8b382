"""Small helpers shared by the failover and resilience tests."""
import time


def status_rows(ext):
    """getPoolStatus rows by server URL."""
    answer = ext.send({"type": "getPoolStatus"})
    assert answer["ok"] is True
    return {row["url"]: row for row in answer["servers"]}


def get_key(ext, timeout_ms=30000):
    """(answer, seconds) of one getApiKey message."""
    started = time.monotonic()
    answer = ext.send({"type": "getApiKey"}, timeout_ms=timeout_ms)
    return answer, time.monotonic() - started
