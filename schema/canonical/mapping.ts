/**
 * Lists of `KEY=VALUE` strings to mappings (compose-go's MappingWithEquals and Labels): the
 * shared core of environment, labels, build args, sysctls, annotations. Values become strings
 * (`PORT: 3000` is `"3000"`), as docker compose prints them. What a bare `KEY` (no `=`) means
 * depends on the attribute: `null` in environment and build args (unset here, resolved from the
 * environment later, as compose does), `""` in labels.
 */
import { isMapping } from '../walk.js';
import type { At } from '../walk.js';

export interface MappingOptions {
  /** The value a bare `KEY` gets. */
  bare: null | '';
}

export function scalarToString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

export function toMapping(value: unknown, at: At, opts: MappingOptions): unknown {
  if (Array.isArray(value)) {
    const out: Record<string, string | null> = {};
    value.forEach((item, i) => {
      const text = scalarToString(item);
      const eq = text.indexOf('=');
      const key = eq < 0 ? text : text.slice(0, eq);
      out[key] = eq < 0 ? opts.bare : text.slice(eq + 1);
      at.alias(`${at.path}.${key}`, `${at.path}[${i}]`);
    });
    return out;
  }
  if (isMapping(value)) {
    if (isCanonicalMapping(value, opts)) return value;
    const out: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(value)) out[k] = v === null || v === undefined ? opts.bare : scalarToString(v);
    return out;
  }
  return value;
}

/** A mapping `toMapping` would copy as it is: string values (or nulls where a bare key is null). */
function isCanonicalMapping(value: Record<string, unknown>, opts: MappingOptions): boolean {
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (typeof v !== 'string' && !(v === null && opts.bare === null)) return false;
    if (k === '__proto__') return false;
  }
  return true;
}

/** environment, build.args: a bare `KEY` is unset (null) until resolved from the environment. */
export function transformEnvironment(value: unknown, at: At): unknown {
  return toMapping(value, at, { bare: null });
}

/** labels, annotations, sysctls, driver options: a bare `KEY` is the empty string. */
export function transformLabels(value: unknown, at: At): unknown {
  return toMapping(value, at, { bare: '' });
}
