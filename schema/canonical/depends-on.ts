/** Service `depends_on`: list or map to the long map form (compose-go transformDependsOn). */
import type { At, Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { asBool } from './values.js';
import { isOrdered, orderKeys } from './order.js';

/**
 * `depends_on: [db]` → `{db: {condition: service_started, required: true}}`; long entries get
 * the same defaults for what they leave out.
 */
const DEP_KEYS = ['condition', 'restart', 'required'];

/** Long form already: what the mapping branch below would give back unchanged. */
function isCanonical(value: Record<string, unknown>): boolean {
  for (const name of Object.keys(value)) {
    const d = value[name];
    if (name === '__proto__' || !isMapping(d) || d.condition === undefined || typeof d.required !== 'boolean') return false;
    if (d.restart !== undefined && typeof d.restart !== 'boolean') return false;
    if (!isOrdered(d, DEP_KEYS)) return false;
  }
  return true;
}

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
  if (isCanonical(value)) return value;
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
