/** Key order helpers: canonical entries list their keys in compose-go's struct order. */

/** A copy of `obj` with `keys` first (in that order, when present), then the other keys. */
export function orderKeys(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}

/**
 * Whether `orderKeys(obj, keys)` would give `obj` back unchanged (same keys, same order), so
 * that a rule run again on a canonical value can return it as it is.
 */
export function isOrdered(obj: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(obj);
  let i = 0;
  for (const k of keys) {
    if (obj[k] === undefined) continue;
    if (own[i] !== k) return false;
    i++;
  }
  for (; i < own.length; i++) {
    const k = own[i] as string;
    // orderKeys drops undefined values and keys an empty object already "has" (its prototype's)
    if (keys.includes(k) || obj[k] === undefined || k in Object.prototype) return false;
  }
  return true;
}
