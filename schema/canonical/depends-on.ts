/** Service `depends_on`: list or map to the long map form (compose-go transformDependsOn). */
import type { At, Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { asBool } from './values.js';
import { orderKeys } from './order.js';

/**
 * `depends_on: [db]` → `{db: {condition: service_started, required: true}}`; long entries get
 * the same defaults for what they leave out.
 */
export const transformDependsOn: Rule = (value, at) => {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    value.forEach((name, i) => {
      out[String(name)] = { condition: 'service_started', required: true };
      at.alias(`${at.path}.${String(name)}`, `${at.path}[${i}]`);
    });
    return out;
  }
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [name, dep] of Object.entries(value)) {
    const d = isMapping(dep) ? { ...dep } : {};
    if (d.condition === undefined) d.condition = 'service_started';
    if (d.required === undefined) d.required = true;
    const sub = (k: string): At => ({ ...at, path: `${at.path}.${name}.${k}` });
    if (d.restart !== undefined) d.restart = asBool(d.restart, sub('restart'));
    d.required = asBool(d.required, sub('required'));
    out[name] = orderKeys(d, ['condition', 'restart', 'required']);
  }
  return out;
};
