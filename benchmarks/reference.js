/*
 * The ORIGINAL key-fetch algorithm (before Keypool), re-written in plain JS
 * for the benchmark only. benchmarks/failover.py evaluates this function in
 * Keypool's own service worker (sw.evaluate), so both are timed in the same
 * place with the same performance.now().
 *
 * As in the original, the failure state lives in worker memory
 * (globalThis.__ref) and is lost whenever Chrome stops the worker.
 *
 * - servers: base URLs; a failed set (url -> failedAt) in memory;
 * - each request: available = servers not failed (a failed server is back
 *   after failedResetMs, fixed, default 5 min); pick one at random;
 *   GET `${base}/gemini-key` with an AbortController timeout (10 s);
 *   success = 2xx JSON with a non-empty string geminiApiKey;
 * - on failure: mark it failed, try another random available server, one at
 *   a time, at most n attempts per round ("Attempt i/n");
 * - when every server failed: wait allFailedBackoffMs (2 s), clear the failed
 *   set, one more round; then give up.
 * - it logs the same console lines as the original (CONTRACT.md §5).
 *
 * Installed with: sw.evaluate(<this file>, {servers, keyTimeoutMs, ...}).
 * Installing again keeps the failure state; __refConfigure(patch) changes
 * the settings; __refForget() clears the failed set; __refExpire() drops
 * the entries whose window has run out.
 */
(config) => {
  const ref = globalThis.__ref || (globalThis.__ref = {
    servers: [],
    keyTimeoutMs: 10000,
    failedResetMs: 300000,
    allFailedBackoffMs: 2000,
    failed: new Map(),          // url -> failedAt (epoch ms)
  });
  Object.assign(ref, config || {});

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function expire() {
    const now = Date.now();
    for (const [url, failedAt] of ref.failed) {
      if (now - failedAt >= ref.failedResetMs) ref.failed.delete(url);
    }
  }

  function availableServers() {
    expire();
    return ref.servers.filter((url) => !ref.failed.has(url));
  }

  async function fetchKey(base) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ref.keyTimeoutMs);
    try {
      const response = await fetch(`${base}/gemini-key`, { signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      if (!data || typeof data.geminiApiKey !== 'string' || data.geminiApiKey === '') {
        throw new Error('no geminiApiKey in the answer');
      }
      return data.geminiApiKey;
    } finally {
      clearTimeout(timer);
    }
  }

  globalThis.__refGetKey = async function () {
    const n = ref.servers.length;
    console.log('🔄 Starting API key fetch with server failover...');
    for (let round = 1; round <= 2; round++) {
      for (let attempt = 1; attempt <= n; attempt++) {
        const available = availableServers();
        if (available.length === 0) break;
        const url = available[Math.floor(Math.random() * available.length)];
        console.log(`Attempt ${attempt}/${n}: Trying server ${url}`);
        try {
          const apiKey = await fetchKey(url);
          console.log(`✅ Success with server: ${url}`);
          return { ok: true, apiKey, server: url };
        } catch (error) {
          const reason = error && error.name === 'AbortError' ? 'timeout' : String(error && error.message);
          console.log(`❌ Server ${url} failed: ${reason}`);
          ref.failed.set(url, Date.now());
          console.log(`Marked server as failed: ${url}. Failed servers: ${ref.failed.size}/${n}`);
        }
      }
      if (round === 1) {
        await sleep(ref.allFailedBackoffMs);
        ref.failed.clear();
      }
    }
    return { ok: false, error: 'All servers failed' };
  };
  globalThis.__refConfigure = (patch) => { Object.assign(ref, patch); };
  globalThis.__refForget = () => { ref.failed.clear(); };
  globalThis.__refExpire = () => { expire(); return ref.failed.size; };
  globalThis.__refFailedCount = () => { expire(); return ref.failed.size; };
  return true;
}
