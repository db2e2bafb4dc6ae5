/** Service `ulimits`: numbers from their text (compose-go transformUlimits). */
import type { Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { asInt } from './values.js';
import { orderKeys } from './order.js';

/** `ulimits: {nproc: 65535, nofile: {soft, hard}}`: numbers from their text; both forms kept, as docker compose prints them. */
export const transformUlimit: Rule = (value, at) => {
  if (typeof value === 'string') return asInt(value, at);
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const k of ['soft', 'hard']) if (out[k] !== undefined) out[k] = asInt(out[k], { ...at, path: `${at.path}.${k}` });
  return orderKeys(out, ['soft', 'hard']);
};
