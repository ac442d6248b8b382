"""Keypool against key servers that behave like the real ones (issue 11, KEYSERVERS.md).

The mocks take the real server's traits (``Mocks.real``): one shared KeyStore,
the real error bodies, strict CORS (only Content-Type and Authorization),
strict paths (308 on a trailing slash, 405 with an empty body) and HEAD that
runs GET. ``localhost`` is covered by the extension's host permission;
``127.0.0.1`` is not, so there Chrome applies CORS as it would on any host a
person did not grant.
"""
from __future__ import annotations

import secrets
import string

import pytest

from tests.e2e.pool_helpers import get_key, status_rows
from tests.mock_servers import DONATED_MESSAGE, DUPLICATE_ERROR, NO_KEYS_ERROR

pytestmark = pytest.mark.e2e

DONATE = "/donate-key"
KEY = "/gemini-key"
FAST = (20, 60)          # the real latency profile's shape, short enough for the suite
_ALPHABET = string.ascii_letters + string.digits + "-_"


def new_key() -> str:
    return "AIzaSy" + "".join(secrets.choice(_ALPHABET) for _ in range(33))


def pin_random(ext, value: float = 0.0) -> None:
    ext.sw_eval(f"() => {{ Math.random = () => {value}; }}")


def ungranted(server) -> str:
    """The server's base URL on 127.0.0.1: a host Keypool holds no permission for."""
    return f"http://127.0.0.1:{server.port}/api"


def posts(pool) -> list:
    return [r for s in pool.servers for r in s.requests_to(DONATE, "POST")]


HOSTS = [pytest.param(False, id="granted-host"), pytest.param(True, id="ungranted-host")]


def configure(ext, pool, on_127: bool, servers=None) -> list[str]:
    servers = servers if servers is not None else pool.servers
    urls = [ungranted(s) if on_127 else s.base for s in servers]
    ext.settings(servers=urls)
    return urls


# ------------------------------------------------------- 1. an empty pool

@pytest.mark.parametrize("on_127", HOSTS)
def test_an_empty_pool_says_so_and_the_donation_that_refills_it_goes_through(ext, pool, on_127):
    store = pool.real(latency_ms=FAST, keys=[])
    urls = configure(ext, pool, on_127)
    answer, _ = get_key(ext)
    assert answer["ok"] is False
    assert "no API keys left" in answer["error"] and "Donate a key" in answer["error"]
    assert "Check that the key servers are running" not in answer["error"]
    # the servers share one pool: one "no keys" answer speaks for all (issue 10)
    assert sum(s.count(KEY, "GET") for s in pool.servers) == 1
    asked = next(u for s, u in zip(pool.servers, urls) if s.count(KEY, "GET") == 1)
    rows = status_rows(ext)
    assert rows[asked]["state"] == "failed" and rows[asked]["kind"] == "pool_empty"
    # and the next request does not ask again: the empty pool's next trial is later
    again, _ = get_key(ext)
    assert again["ok"] is False and "no API keys left" in again["error"]
    assert sum(s.count(KEY, "GET") for s in pool.servers) == 1

    key = new_key()
    donated = ext.send({"type": "donateKey", "apiKey": key})
    assert donated["ok"] is True, donated
    assert donated["message"] == DONATED_MESSAGE
    assert len(posts(pool)) == 1 and store.keys == [key]
    # the servers that were out because the pool was empty are back at once
    rows = status_rows(ext)
    assert all(rows[u]["state"] == "available" and "failures" not in rows[u] for u in urls)
    answer, _ = get_key(ext)
    assert answer["ok"] is True and answer["apiKey"] == key


def test_a_probe_does_not_put_back_a_server_whose_pool_is_empty(ext, pool):
    pool.real(latency_ms=FAST, keys=[])
    ext.settings(servers=[pool.servers[0].base], ejectionBaseMs=300, failedResetMs=600)
    assert get_key(ext)[0]["ok"] is False
    server = pool.servers[0]
    assert server.count(KEY) == 1
    ext.wait_for(lambda: status_rows(ext)[server.base]["state"] == "available", timeout_s=5)
    ext.page.wait_for_timeout(1500)      # alarms at probeIntervalMs 1000 would have probed
    assert server.count("/health") == 0
    assert status_rows(ext)[server.base].get("probation") is True


# ------------------------------------------------------- 2. a broken /health

@pytest.mark.parametrize("on_127", HOSTS)
def test_a_server_whose_health_is_broken_still_gets_the_donation(ext, pool, on_127):
    store = pool.real(latency_ms=FAST)
    pool.set_all("express_health")
    down = pool.servers[0]
    down.set_mode("refuse")
    configure(ext, pool, on_127)
    pin_random(ext, 0.0)
    key = new_key()
    answer = ext.send({"type": "donateKey", "apiKey": key})
    assert answer["ok"] is True, answer
    # every live server's /health answered 503; the refused one got no POST
    assert all(s.count("/health") >= 1 for s in pool.servers[1:])
    assert down.count(DONATE) == 0
    assert len(posts(pool)) == 1 and key in store.keys


def test_nothing_answers_over_http_no_post_is_sent(ext, pool):
    pool.real(latency_ms=FAST)
    pool.servers[0].set_mode("refuse")
    pool.servers[1].set_mode("hang", "/health")
    ext.settings(servers=[pool.servers[0].base, pool.servers[1].base])
    answer = ext.send({"type": "donateKey", "apiKey": new_key()})
    assert answer["ok"] is False and "No key server could take the donation" in answer["error"]
    assert pool.servers[1].count("/health") == 1
    assert posts(pool) == []


# ------------------------------------------------------- 3. strict CORS

def test_on_a_host_without_permission_the_donation_passes_the_real_preflight(ext, pool):
    store = pool.real(latency_ms=FAST)
    configure(ext, pool, True)
    key = new_key()
    answer = ext.send({"type": "donateKey", "apiKey": key}, timeout_ms=15_000)
    assert answer["ok"] is True, answer
    assert key in store.keys
    preflights = [r for s in pool.servers for r in s.requests_to(DONATE, "OPTIONS")]
    assert len(preflights) == 1    # the browser asked, as it does for a JSON POST
    asked = preflights[0].header("Access-Control-Request-Headers", "")
    assert {h.strip().lower() for h in asked.split(",") if h.strip()} <= {"content-type",
                                                                        "authorization"}
    for r in posts(pool):
        assert {h.lower() for h in r.headers} & {"idempotency-key"} == set()


def test_a_request_the_browser_blocks_blames_no_server(ext, pool):
    # No CORS headers at all on a host without permission: the browser blocks
    # every request although the server is up. Keypool must say so, not
    # "connection refused", and must not eject the server.
    pool.real("shared", "real_errors", latency_ms=FAST)
    urls = configure(ext, pool, True, pool.servers[:2])
    answer = ext.send({"type": "donateKey", "apiKey": new_key()}, timeout_ms=15_000)
    assert all(s.count("/health") >= 1 for s in pool.servers[:2])   # it was up, and asked
    assert answer["ok"] is False
    assert "Keypool may not reach" in answer["error"] and "Options" in answer["error"]
    rows = status_rows(ext)
    assert all("failures" not in rows[u] for u in urls), rows
    texts = "\n".join(ext.log_texts())
    assert "connection refused" not in texts
    # the key route too: blocked, not refused, and nobody ejected
    answer, _ = get_key(ext)
    assert all(s.count(KEY) >= 1 for s in pool.servers[:2])
    assert answer["ok"] is False
    assert "Keypool may not reach the key servers" in answer["error"], answer
    rows = status_rows(ext)
    assert all("failures" not in rows[u] for u in urls), rows
    assert "connection refused" not in "\n".join(ext.log_texts())


# ------------------------------------------------------- 4. an ambiguous timeout

@pytest.mark.parametrize("on_127", HOSTS)
def test_after_a_timeout_already_donated_means_the_key_is_in_the_pool(ext, pool, on_127):
    store = pool.real(latency_ms=FAST)
    first, second = pool.servers[0], pool.servers[1]
    first.set_mode("stall_after_store", DONATE)
    configure(ext, pool, on_127, [first, second])
    pin_random(ext, 0.0)
    key = new_key()
    answer = ext.send({"type": "donateKey", "apiKey": key}, timeout_ms=15_000)
    assert first.count(DONATE, "POST") == 1 and key in store.keys   # stored, never answered
    second_posts = second.requests_to(DONATE, "POST")
    assert len(second_posts) == 1
    assert answer["ok"] is True, answer
    assert answer.get("alreadyInPool") is True
    assert "Your key is in the pool" in answer["message"]
    assert ext.storage("session", "status")["level"] == "success"


def test_without_an_ambiguous_attempt_already_donated_is_a_rejection(ext, pool):
    store = pool.real(latency_ms=FAST)
    key = new_key()
    store.keys.append(key)
    ext.settings(servers=[pool.servers[0].base, pool.servers[1].base])
    answer = ext.send({"type": "donateKey", "apiKey": key})
    assert answer["ok"] is False and answer["rejected"] is True
    assert DUPLICATE_ERROR in answer["error"]
    assert len(posts(pool)) == 1


def test_one_donation_per_key_in_flight(ext, pool):
    pool.real(latency_ms=(400, 500))
    ext.settings(servers=[pool.servers[0].base])
    key = new_key()
    handles = [ext.send_nowait({"type": "donateKey", "apiKey": key}) for _ in range(20)]
    answers = [ext.result(h, timeout_ms=15_000) for h in handles]
    assert all(a["ok"] is True for a in answers), answers[:2]
    assert len(posts(pool)) == 1


# ------------------------------------------------------- 5. hedging costs the servers little

def test_first_twenty_keys_cost_at_most_22_key_requests(ext, pool):
    store = pool.real(latency_ms=(300, 900))
    ext.settings(servers=pool.urls(), keyCacheMs=0, keyTimeoutMs=5000)
    for _ in range(20):
        answer, _ = get_key(ext)
        assert answer["ok"] is True, answer
    requests = pool.count(KEY, "GET")
    assert requests >= 20
    assert store.allocations == requests
    assert requests <= 22, f"{requests} key requests for 20 keys"


def test_a_hanging_server_is_still_hedged_around_quickly(ext, pool):
    pool.real(latency_ms=FAST)
    hang = pool.servers[0]
    hang.set_mode("hang")
    ext.settings(servers=[hang.base, pool.servers[1].base], keyTimeoutMs=6000)
    pin_random(ext, 0.0)                     # the hanging server is asked first
    answer, elapsed = get_key(ext)
    assert hang.count(KEY) == 1 and hang.count("/health") >= 1
    assert answer["ok"] is True and answer["server"] == pool.servers[1].base
    assert elapsed < 5.0                     # a hedge (~1 s), not the 6 s timeout
    assert any("hedging with another server" in t for t in ext.log_texts())


# ------------------------------------------------------- 6. no HEAD, no trailing slash

def test_no_head_and_no_trailing_slash_anywhere(ext, pool):
    pool.real(latency_ms=FAST)
    server = pool.servers[0]
    ext.settings(servers=[server.base + "/"],
                 endpoints={"health": "/health/", "key": "/gemini-key/", "donate": "/donate-key/"})
    assert get_key(ext)[0]["ok"] is True
    assert ext.send({"type": "donateKey", "apiKey": new_key()})["ok"] is True
    assert ext.send({"type": "retryServer", "url": server.base})["ok"] is True
    page = ext.open("popup.html")
    page.wait_for_selector("#pool li.server", timeout=10_000)
    page.close()
    seen = server.requests
    assert any(r.path == "/api/gemini-key" for r in seen)
    assert [r.path for r in seen if r.path.endswith("/")] == []
    assert [r.path for r in seen if r.method == "HEAD"] == []


def test_the_mock_answers_a_trailing_slash_and_head_like_the_real_server(pool):
    import urllib.request
    pool.real(latency_ms=FAST)
    server = pool.servers[0]
    req = urllib.request.Request(server.base + "/health/", method="GET")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(req, timeout=5)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 308 and e.headers["Location"] == "/api/health"
    with urllib.request.urlopen(urllib.request.Request(server.base + KEY, method="HEAD"),
                                timeout=5) as resp:
        assert resp.status == 200
    assert server.count(KEY, "HEAD") == 1
    assert NO_KEYS_ERROR.startswith("Unable to allocate API key:")
