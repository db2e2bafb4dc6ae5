/** Service `develop.watch`: one rule per path (compose-go transformWatch). */
import type { Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { orderKeys } from './order.js';

/** `develop.watch`: a rule whose `path` is a list is one rule per path. */
export const transformWatch: Rule = (value) => {
  if (!Array.isArray(value)) return value;
  const out: unknown[] = [];
  for (const rule of value) {
    if (isMapping(rule) && Array.isArray(rule.path)) {
      for (const p of rule.path) out.push(orderKeys({ ...rule, path: p }, WATCH_KEYS));
    } else {
      out.push(isMapping(rule) ? orderKeys(rule, WATCH_KEYS) : rule);
    }
  }
  return out;
};
const WATCH_KEYS = ['path', 'action', 'target', 'exec', 'include', 'ignore', 'initial_sync'];
