/** Key order helpers: canonical entries list their keys in compose-go's struct order. */

/** A copy of `obj` with `keys` first (in that order, when present), then the other keys. */
export function orderKeys(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out) && v !== undefined) out[k] = v;
  return out;
}
