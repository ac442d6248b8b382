// JSON with object keys sorted, at every depth. chrome.storage hands values
// back with their keys sorted, so comparing what the worker wrote with what
// storage.onChanged reports needs one canonical form.
export function canonicalJson(value) {
  return JSON.stringify(value, (key, v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted = {};
    for (const k of Object.keys(v).sort()) sorted[k] = v[k];
    return sorted;
  });
}
