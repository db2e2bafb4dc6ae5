/**
 * Scalar casts for leaf attributes. After interpolation a value written as `${CPUS}` is still a
 * string; compose-go casts such values by path (its interpolation TypeCastMapping) and prints
 * sizes and durations in one canonical form. These rules do the same for every file: numbers
 * and booleans from their text, durations as Go prints them (`90s` → `1m30s`), byte sizes as
 * the byte count in a string (`512m` → `"536870912"`), which is what `docker compose config
 * --format json` shows. A value that cannot be read as its type is an error at its key.
 */
import { formatDuration, parseBytes, parseDuration } from '../../lib/units.js';
import type { At, Rule } from '../walk.js';

function fail(at: At, what: string, value: unknown): never {
  throw at.positions.error('ERR_COMPOSE_INVALID', `invalid ${what}: ${JSON.stringify(value)}`, at.path);
}

/** Durations already read (the same few values recur across services and passes). */
const durations = new Map<string, string>();

export const asDuration: Rule = (value, at) => {
  if (value === null || value === undefined) return value;
  if (typeof value !== 'string' && typeof value !== 'number') return value;
  const text = String(value);
  const known = durations.get(text);
  if (known !== undefined) return known;
  try {
    const out = formatDuration(parseDuration(text));
    durations.set(text, out);
    return out;
  } catch {
    return fail(at, 'duration', value);
  }
};

export const asBytes: Rule = (value, at) => {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return fail(at, 'size', value);
    return String(value);
  }
  if (typeof value !== 'string') return value;
  if (/^-\d+$/.test(value)) return value;
  try {
    return String(parseBytes(value));
  } catch {
    return fail(at, 'size', value);
  }
};

export const asNumber: Rule = (value, at) => {
  if (typeof value !== 'string') return value;
  const n = Number(value.trim());
  if (value.trim() === '' || Number.isNaN(n)) return fail(at, 'number', value);
  return n;
};

export const asInt: Rule = (value, at) => {
  if (typeof value !== 'string') return value;
  if (!/^[+-]?\d+$/.test(value.trim())) return fail(at, 'integer', value);
  return Number(value.trim());
};

/**
 * An integer count of microseconds, written either as one (`95000`) or as a duration (`400ms`):
 * `cpu_rt_runtime` and `cpu_rt_period`, which the Compose Specification describes as
 * "microseconds or a duration" (its own example is `cpu_rt_runtime: '400ms'`). A duration
 * becomes whole microseconds, rounded down, as docker-compose 1.29 prints it (`400ms` is
 * 400000).
 */
export const asMicroseconds: Rule = (value, at) => {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  try {
    return Math.trunc(parseDuration(text) / 1000);
  } catch {
    return fail(at, 'integer or duration', value);
  }
};

const TRUE = new Set(['y', 'yes', 'true', 'on']);
const FALSE = new Set(['n', 'no', 'false', 'off']);

/** Booleans as compose-go's toBoolean reads them (YAML 1.1 words, any case). */
export const asBool: Rule = (value, at) => {
  if (typeof value !== 'string') return value;
  const v = value.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return fail(at, 'boolean', value);
};

/** A scalar printed as a string (expose entries, option values). */
export const asString: Rule = (value) =>
  typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;

/** A single string where a list is allowed: `dns: 8.8.8.8` is `dns: [8.8.8.8]`. */
export const stringToList: Rule = (value) => (typeof value === 'string' ? [value] : value);
