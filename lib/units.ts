/**
 * Durations and byte sizes written the way docker and compose write them.
 *
 * Durations follow Go: `parseDuration` accepts what compose-go accepts (Go's `time.ParseDuration`
 * plus `d` and `w`, as str2duration does) and `formatDuration` prints what Go's
 * `time.Duration.String()` prints, which is how `docker compose config` shows every duration
 * (`90s` → `1m30s`, `1h` → `1h0m0s`). Sizes follow docker's go-units `RAMInBytes`: binary
 * multiples (`512m` = 512 MiB), an optional `i` and `b`, case-insensitive.
 *
 * Values are plain numbers: nanoseconds for durations, bytes for sizes. Both stay exact well
 * past anything a compose file uses (2^53 ns is 104 days; 2^53 bytes is 8 PiB).
 */

const NS_PER: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
  w: 7 * 86400e9,
};

/**
 * Nanoseconds in a Go-style duration (`1m30s`, `1.5h`, `500ms`, `-2s`, `0`), or an Error saying
 * why not. Like Go, a number without a unit is an error unless it is `0`.
 */
export function parseDuration(text: string): number {
  const s = text.trim();
  let i = 0;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    i = 1;
  }
  if (s.slice(i) === '0') return 0;
  if (i >= s.length) throw new Error(`invalid duration "${text}"`);
  let total = 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d|w)/y;
  re.lastIndex = i;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (m === null) throw new Error(`invalid duration "${text}"`);
    const unit = NS_PER[m[2] as string] as number;
    total += Number(m[1]) * unit;
  }
  return sign * Math.round(total);
}

/** A duration as Go's `time.Duration.String()` prints it: `0s`, `500ms`, `1m30s`, `1h0m0s`. */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) throw new Error(`not a duration: ${ns}`);
  let n = Math.round(Math.abs(ns));
  const sign = ns < 0 ? '-' : '';
  if (n === 0) return '0s';
  if (n < 1e9) {
    if (n < 1e3) return `${sign}${n}ns`;
    if (n < 1e6) return `${sign}${fraction(n, 1e3)}µs`;
    return `${sign}${fraction(n, 1e6)}ms`;
  }
  const subSecond = n % 1e9;
  n = (n - subSecond) / 1e9;
  const secs = n % 60;
  n = (n - secs) / 60;
  let out = `${secs}${subSecond === 0 ? '' : '.' + String(subSecond).padStart(9, '0').replace(/0+$/, '')}s`;
  if (n > 0) {
    const mins = n % 60;
    const hours = (n - mins) / 60;
    out = `${mins}m${out}`;
    if (hours > 0) out = `${hours}h${out}`;
  }
  return sign + out;
}

/** `value / unit` printed with Go's trailing-zero-free fraction (1500 / 1000 → "1.5"). */
function fraction(value: number, unit: number): string {
  const whole = Math.floor(value / unit);
  const rest = value % unit;
  if (rest === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * Bytes in a size as docker reads memory sizes (`512m`, `1g`, `1gb`, `1GiB`, `100k`, `2048`,
 * `1.5g`): binary multiples, truncated to a whole number as Go's int64 conversion does.
 * A number passes through.
 */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid size: '${value}'`);
    return Math.trunc(value);
  }
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (m === null) throw new Error(`invalid size: '${value}'`);
  const num = Number(m[1]);
  if (Number.isNaN(num)) throw new Error(`invalid size: '${value}'`);
  return Math.trunc(num * (BYTE_UNITS[(m[2] ?? '').toLowerCase()] as number));
}

/** Whether `parseDuration` would accept the text. */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}
