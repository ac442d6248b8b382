"""A settings change applies to the very next request.

The worker keeps settings in memory and relies on chrome.storage.onChanged
to learn of a change (glue/store.py Mirror). This checks, many times in a
row, that a write from a page is seen by a message sent right after it.
"""


def test_a_settings_change_applies_to_the_next_request_every_time(ext, pool):
    a, b = pool.servers[0], pool.servers[1]
    ext.wake()
    for i in range(30):
        want = a if i % 2 == 0 else b
        ext.settings(servers=[want.base])
        answer = ext.send({"type": "getApiKey"})
        assert answer["ok"] is True and answer["server"] == want.base, (i, answer)
