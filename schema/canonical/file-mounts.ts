/** Service `secrets` and `configs` entries: a name is `{source}` (compose-go transformFileMount). */
import type { Rule } from '../walk.js';

/** `secrets: [token]` / `configs: [conf]` entries → `{source: token}`. */
export const transformFileMount: Rule = (value) => (typeof value === 'string' ? { source: value } : value);
