/** Service `networks`: the list form is a map of names to null (compose-go transformServiceNetworks). */
import type { Rule } from '../walk.js';

/** `networks: [front, back]` → `{front: null, back: null}`. */
export const transformServiceNetworks: Rule = (value, at) => {
  if (!Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  value.forEach((name, i) => {
    out[String(name)] = null;
    at.alias(`${at.path}.${String(name)}`, `${at.path}[${i}]`);
  });
  return out;
};
