"""The mock servers themselves, through plain HTTP clients (no browser, fast)."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.mock_servers import (
    BAD_JSON,
    CAT_PNG,
    GATEWAY_HTML,
    KeyServer,
    MockError,
    ProviderServer,
    describe,
    http_date,
)


def call(url, method="GET", body=None, headers=None, timeout=3.0):
    """(status, headers, body text) of one request; HTTP errors are answers too."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def call_json(url, **kw):
    status, _headers, text = call(url, **kw)
    return status, json.loads(text)


@pytest.fixture(scope="module")
def servers():
    ks = [KeyServer(i) for i in range(2)]
    prov = ProviderServer()
    yield ks, prov
    for s in (*ks, prov):
        s.stop()


@pytest.fixture
def ks(servers):
    server = servers[0][0]
    server.reset()
    yield server
    try:
        server.check()
    finally:
        server.reset()


@pytest.fixture
def prov(servers):
    server = servers[1]
    server.reset()
    yield server
    try:
        server.check()
    finally:
        server.reset()


def gemini_body(prompt="Describe this image.", mime="image/png", data=CAT_PNG):
    return {"contents": [{"parts": [
        {"text": prompt},
        {"inline_data": {"mime_type": mime, "data": base64.b64encode(data).decode()}}]}]}


# -- key server: normal answers ---------------------------------------------

class TestKeyServerOk:
    def test_urls_use_localhost_and_distinct_ports(self, servers):
        a, b = servers[0]
        assert a.base == f"http://localhost:{a.port}/api"
        assert a.port != b.port

    def test_keys_look_real_and_differ(self, servers):
        a, b = servers[0]
        assert a.key.startswith("AIzaSyMOCK0") and b.key.startswith("AIzaSyMOCK1")
        assert len(a.key) == len("AIzaSyMOCK0") + 20
        assert a.key != b.key

    def test_health(self, ks):
        assert call_json(ks.base + "/health") == (200, {"status": "healthy"})

    def test_key(self, ks):
        status, body = call_json(ks.base + "/gemini-key")
        assert status == 200 and body["geminiApiKey"] == ks.key

    def test_key_is_settable_and_reset_restores_it(self, ks):
        original = ks.key
        ks.key = "AIzaSyOTHER"
        assert call_json(ks.base + "/gemini-key")[1]["geminiApiKey"] == "AIzaSyOTHER"
        ks.reset()
        assert ks.key == original

    def test_donate_accepts_a_key(self, ks):
        status, body = call_json(ks.base + "/donate-key", method="POST",
                                 body={"apiKey": "AIzaDONATED", "donorEmail": "a@b.c"})
        assert status == 201 and body == {"success": True, "message": "API key donated successfully"}
        assert ks.donated == [{"apiKey": "AIzaDONATED", "donorEmail": "a@b.c"}]

    @pytest.mark.parametrize("body", [{}, {"apiKey": ""}, {"apiKey": 5}, b"not json"],
                             ids=["no-key", "empty", "non-string", "not-json"])
    def test_donate_validates_the_body(self, ks, body):
        status, answer = call_json(ks.base + "/donate-key", method="POST", body=body)
        assert status == 400 and answer["error"] == "Invalid API key" and answer["details"]
        assert ks.donated == []

    def test_records_requests(self, ks):
        call(ks.base + "/health", headers={"X-Test": "1"})
        call(ks.base + "/donate-key", method="POST", body={"apiKey": "k"})
        assert [(r.method, r.path) for r in ks.requests] == [
            ("GET", "/api/health"), ("POST", "/api/donate-key")]
        assert ks.requests[0].header("x-test") == "1"
        assert ks.requests[1].json == {"apiKey": "k"} and ks.requests[1].body == '{"apiKey": "k"}'
        assert ks.count("/health") == 1 and ks.count("/donate-key", "POST") == 1
        assert ks.count() == 2
        ks.reset()
        assert ks.requests == []

    def test_unknown_path_is_404(self, ks):
        assert call(ks.base + "/nope")[0] == 404


# -- key server: fault modes ------------------------------------------------

class TestKeyServerModes:
    @pytest.mark.parametrize(("mode", "params", "status", "body"), [
        pytest.param("status", {}, 500, {"error": "No active API keys available"}, id="status-500"),
        pytest.param("status", {"code": 503}, 503, {"status": "unhealthy"}, id="status-503"),
        pytest.param("status_503", {}, 503, {"status": "unhealthy"}, id="status_503-alias"),
        pytest.param("missing_key", {}, 200, {}, id="missing_key"),
        pytest.param("empty_key", {}, 200, {"geminiApiKey": ""}, id="empty_key"),
        pytest.param("non_string_key", {}, 200, {"geminiApiKey": 12345}, id="non_string_key"),
        pytest.param("message", {"status": 418, "body": {"error": "<img src=x onerror=alert(1)>"}},
                     418, {"error": "<img src=x onerror=alert(1)>"}, id="message"),
    ])
    def test_json_modes_on_the_key_path(self, ks, mode, params, status, body):
        ks.set_mode(mode, **params)
        assert call_json(ks.base + "/gemini-key") == (status, body)

    def test_api_key_field(self, ks):
        ks.set_mode("api_key_field")
        assert call_json(ks.base + "/gemini-key") == (200, {"apiKey": ks.key})

    def test_key_modes_leave_health_alone(self, ks):
        ks.set_mode("missing_key")
        assert call_json(ks.base + "/health") == (200, {"status": "healthy"})

    def test_bad_json(self, ks):
        ks.set_mode("bad_json")
        status, headers, text = call(ks.base + "/gemini-key")
        assert status == 200 and text == BAD_JSON and "application/json" in headers["Content-Type"]

    def test_html(self, ks):
        ks.set_mode("html")
        status, headers, text = call(ks.base + "/gemini-key")
        assert status == 200 and text == GATEWAY_HTML and "text/html" in headers["Content-Type"]

    @pytest.mark.parametrize("code", [429, 503])
    def test_retry_after_seconds(self, ks, code):
        ks.set_mode("retry_after", code=code, retry_after=7)
        status, headers, _ = call(ks.base + "/gemini-key")
        assert status == code and headers["Retry-After"] == "7"

    def test_retry_after_http_date(self, ks):
        when = http_date(30)
        ks.set_mode("retry_after", retry_after=when)
        status, headers, _ = call(ks.base + "/gemini-key")
        assert status == 429 and headers["Retry-After"] == when and when.endswith(" GMT")

    def test_donate_reject_and_duplicate(self, ks):
        ks.set_mode("donate_reject", details="Key failed validation")
        assert call_json(ks.base + "/donate-key", method="POST", body={"apiKey": "k"}) == (
            400, {"error": "Invalid API key", "details": "Key failed validation"})
        assert call_json(ks.base + "/gemini-key")[0] == 200  # donate modes touch donate only
        ks.set_mode("donate_duplicate")
        assert call_json(ks.base + "/donate-key", method="POST", body={"apiKey": "k"}) == (
            409, {"error": "This API key has already been donated"})
        assert ks.donated == []

    def test_per_path_mode_wins_and_others_stay_ok(self, ks):
        ks.set_mode("status", path="/gemini-key", code=500)
        assert call(ks.base + "/gemini-key")[0] == 500
        assert call(ks.base + "/health")[0] == 200
        ks.set_mode("status", code=503)
        ks.set_mode("ok", path="/health")
        assert call(ks.base + "/health")[0] == 200
        assert call(ks.base + "/gemini-key")[0] == 500

    def test_slow(self, ks):
        ks.set_mode("slow", delay_ms=300)
        t0 = time.monotonic()
        status, body = call_json(ks.base + "/gemini-key")
        assert status == 200 and body["geminiApiKey"] == ks.key
        assert time.monotonic() - t0 >= 0.28

    def test_slow_body(self, ks):
        ks.set_mode("slow_body", chunks=3, interval_ms=150)
        t0 = time.monotonic()
        status, body = call_json(ks.base + "/gemini-key")
        assert status == 200 and body["geminiApiKey"] == ks.key
        assert time.monotonic() - t0 >= 0.4

    def test_hang_times_out_the_client(self, ks):
        ks.set_mode("hang")
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            call(ks.base + "/gemini-key", timeout=0.4)

    def test_hang_is_released_by_a_mode_change(self, ks):
        ks.set_mode("hang")
        result = {}
        t = threading.Thread(target=lambda: result.update(r=call(ks.base + "/health", timeout=5)))
        t.start()
        _wait(lambda: ks.count("/health") == 1)
        time.sleep(0.1)
        assert "r" not in result
        ks.set_mode("status", code=503)
        t.join(5)
        assert result["r"][0] == 503

    def test_hang_is_released_by_reset(self, ks):
        ks.set_mode("hang")
        result = {}
        t = threading.Thread(target=lambda: result.update(r=call(ks.base + "/health", timeout=5)))
        t.start()
        _wait(lambda: ks.count("/health") == 1)
        ks.reset()
        t.join(5)
        assert result["r"][0] == 200

    def test_refuse_closes_port_and_keepalive_then_reopens_same_port(self, ks):
        port = ks.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", "/api/health")
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Connection", "keep-alive").lower() != "close"
        r.read()
        ks.set_mode("refuse")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        # the kept-alive connection is gone too (TESTING.md §7 pitfall)
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            conn.request("GET", "/api/health")
            conn.getresponse().read()
        conn.close()
        ks.set_mode("ok")
        assert ks.port == port
        assert call(ks.base + "/health")[0] == 200

    def test_refuse_then_reset_reopens(self, ks):
        ks.set_mode("refuse")
        with pytest.raises(urllib.error.URLError):
            call(ks.base + "/health")
        ks.reset()
        assert call(ks.base + "/health")[0] == 200

    def test_refuse_for_one_path_drops_that_path(self, ks):
        ks.set_mode("refuse", path="/gemini-key")
        with pytest.raises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
            call(ks.base + "/gemini-key")
        assert call(ks.base + "/health")[0] == 200

    def test_drop(self, ks):
        ks.set_mode("drop")
        with pytest.raises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
            call(ks.base + "/health")

    def test_unknown_mode_is_rejected(self, ks):
        with pytest.raises(ValueError, match="unknown mock mode"):
            ks.set_mode("teapot")


class TestErrorCapture:
    def test_handler_errors_are_recorded_and_raised_by_check(self):
        with KeyServer(9) as s:
            s.set_mode("status", code="not-a-number")  # int("not-a-number") raises in the handler
            assert call(s.base + "/health")[0] == 500
            assert len(s.errors) == 1 and "ValueError" in s.errors[0]
            with pytest.raises(MockError, match="handler error"):
                s.check()
            s.reset()
            s.check()

    def test_stop_releases_hung_requests(self):
        s = KeyServer(8)
        s.set_mode("hang")
        errors = []

        def hit():
            try:
                call(s.base + "/health", timeout=5)
            except Exception as e:  # noqa: BLE001 - any failure is the expected outcome
                errors.append(e)
        t = threading.Thread(target=hit)
        t.start()
        _wait(lambda: s.count("/health") == 1)
        t0 = time.monotonic()
        s.stop()
        t.join(5)
        assert not t.is_alive() and time.monotonic() - t0 < 3
        assert errors


# -- provider ---------------------------------------------------------------

class TestProvider:
    def test_urls(self, prov):
        assert prov.base_gemini == f"http://localhost:{prov.port}/v1beta"
        assert prov.base_openai == f"http://localhost:{prov.port}/v1"

    def test_gemini_ok(self, prov):
        status, body = call_json(prov.base_gemini + "/models/gemini-2.5-flash:generateContent",
                                 method="POST", body=gemini_body(),
                                 headers={"x-goog-api-key": "AIzaK1"})
        assert status == 200
        text = body["candidates"][0]["content"]["parts"][0]["text"]
        assert text == describe("image/png", len(CAT_PNG), "Describe this image.")
        assert text == f"Mock description of a image/png image ({len(CAT_PNG)} bytes) for prompt: Describe this image."
        assert prov.keys_used() == ["AIzaK1"]
        assert prov.requests[0].json["contents"][0]["parts"][0]["text"] == "Describe this image."

    def test_gemini_key_in_url_is_a_violation(self, prov):
        call(prov.base_gemini + "/models/m:generateContent?key=AIzaLEAK", method="POST",
             body=gemini_body(), headers={"x-goog-api-key": "AIzaLEAK"})
        assert any("URL" in v for v in prov.violations)
        with pytest.raises(MockError, match="contract violation"):
            prov.check()
        prov.clear_violations()

    def test_gemini_without_header_is_refused(self, prov):
        status, body = call_json(prov.base_gemini + "/models/m:generateContent", method="POST",
                                 body=gemini_body())
        assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
        prov.clear_violations()

    def test_gemini_rejected_and_exhausted_keys(self, prov):
        prov.reject_keys.add("bad")
        prov.exhausted_keys.add("tired")
        url = prov.base_gemini + "/models/m:generateContent"
        status, body = call_json(url, method="POST", body=gemini_body(), headers={"x-goog-api-key": "bad"})
        assert status == 400 and body == {"error": {
            "code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT"}}
        status, body = call_json(url, method="POST", body=gemini_body(), headers={"x-goog-api-key": "tired"})
        assert status == 429 and body["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert call(url, method="POST", body=gemini_body(), headers={"x-goog-api-key": "good"})[0] == 200
        prov.reject_all = True
        assert call(url, method="POST", body=gemini_body(), headers={"x-goog-api-key": "good"})[0] == 400

    def test_gemini_bad_body_is_a_violation(self, prov):
        status, _ = call_json(prov.base_gemini + "/models/m:generateContent", method="POST",
                              body={"contents": []}, headers={"x-goog-api-key": "k"})
        assert status == 400 and prov.violations
        prov.clear_violations()

    def test_openai_ok_with_data_url(self, prov):
        data_url = "data:image/png;base64," + base64.b64encode(CAT_PNG).decode()
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is it?"},
            {"type": "image_url", "image_url": {"url": data_url}}]}]}
        status, answer = call_json(prov.base_openai + "/chat/completions", method="POST", body=body,
                                   headers={"Authorization": "Bearer sk-1"})
        assert status == 200
        assert answer["choices"][0]["message"]["content"] == describe("image/png", len(CAT_PNG), "What is it?")
        assert prov.keys_used() == ["sk-1"]

    def test_openai_rejected_key(self, prov):
        prov.reject_keys.add("sk-bad")
        body = {"model": "m", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": prov.image_url}}]}]}
        status, answer = call_json(prov.base_openai + "/chat/completions", method="POST", body=body,
                                   headers={"Authorization": "Bearer sk-bad"})
        assert status == 401 and answer["error"]["message"] == "Incorrect API key provided"
        assert answer["error"]["type"] == "invalid_request_error"

    def test_modes_apply_to_api_not_assets(self, prov):
        prov.set_mode("status", code=500)
        assert call(prov.base_gemini + "/models/m:generateContent", method="POST", body=gemini_body(),
                    headers={"x-goog-api-key": "k"})[0] == 500
        status, headers, _ = call(prov.image_url)
        assert status == 200 and headers["Content-Type"] == "image/png"

    def test_assets(self, prov):
        with urllib.request.urlopen(prov.image_url, timeout=3) as r:
            png = r.read()
        assert png == CAT_PNG and png.startswith(b"\x89PNG\r\n\x1a\n")
        status, _, html = call(prov.page_url)
        assert status == 200 and '<img id="cat" src="/img/cat.png"' in html

    def test_png_is_decodable(self):
        import struct
        import zlib
        assert CAT_PNG[12:16] == b"IHDR"
        w, h = struct.unpack(">II", CAT_PNG[16:24])
        assert (w, h) == (16, 16)
        idat_len = struct.unpack(">I", CAT_PNG[33:37])[0]
        raw = zlib.decompress(CAT_PNG[41:41 + idat_len])
        assert len(raw) == h * (1 + 3 * w)


def _wait(pred, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")
