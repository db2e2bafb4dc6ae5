/**
 * `.env` files as docker compose v2 reads them (compose-go `dotenv/parser.go`):
 * `KEY=value` (or `KEY: value`), an optional `export ` prefix, `#` comment lines, an inline
 * ` #` comment after an unquoted value, single quotes (literal, may span lines), double quotes
 * (Go escapes such as `\n`, `\t`, `\"`, `\\`; may span lines; `\$` is a literal `$`), `${VAR}`
 * references in unquoted and double-quoted values (to the lookup first — the shell — then to
 * keys defined earlier in the same file), empty values, a bare `KEY` taking the lookup's value,
 * and no need for a final newline.
 */
import { TscError } from '../lib/errors.js';
import { setKey } from './parse.js';
import { substitute, type Lookup } from './template.js';

/**
 * Parse `text` (the content of `file`). References resolve to `lookup` (the shell), then to
 * keys defined earlier in this file, then to `fallback` (earlier env files).
 */
export function parseDotenv(
  text: string,
  file: string,
  lookup: Lookup = () => undefined,
  fallback: Lookup = () => undefined,
): Record<string, string> {
  const src = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const out: Record<string, string> = {};
  const resolve: Lookup = (name) => lookup(name) ?? (Object.hasOwn(out, name) ? out[name] : fallback(name));
  let i = 0;
  const lineAt = (offset: number): number => {
    let n = 1;
    for (let k = 0; k < offset && k < src.length; k++) if (src[k] === '\n') n++;
    return n;
  };
  const fail = (offset: number, message: string): TscError =>
    new TscError('ERR_COMPOSE_INVALID', message, { file, line: lineAt(offset) });

  while (i < src.length) {
    // skip blank space and comment lines
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
      continue;
    }
    if (c === '#') {
      i = endOfLine(src, i);
      continue;
    }
    const start = i;
    if (src.startsWith('export ', i) || src.startsWith('export\t', i)) {
      i += 7;
      while (src[i] === ' ' || src[i] === '\t') i++;
    }
    // the key, up to '=' or ':' (or the end of the line for an inherited value)
    const keyStart = i;
    let sep = '';
    while (i < src.length) {
      const ch = src[i] as string;
      if (ch === '=' || ch === ':' || ch === '\n') {
        sep = ch;
        break;
      }
      if (!/[\p{L}\p{N}_.\-[\] \t]/u.test(ch)) {
        throw fail(start, `unexpected character "${ch}" in variable name "${src.slice(keyStart, endOfLine(src, i)).trim()}"`);
      }
      i++;
    }
    const key = src.slice(keyStart, i).trim();
    if (key === '') throw fail(start, 'missing variable name');
    if (/\s/.test(key)) throw fail(start, `unexpected character " " in variable name "${key}"`);
    if (sep === '\n' || sep === '') {
      const inherited = lookup(key);
      if (inherited !== undefined) setKey(out, key, inherited);
      i++;
      continue;
    }
    i++; // the separator
    while (src[i] === ' ' || src[i] === '\t') i++;
    const q = src[i];
    if (q === '"' || q === "'") {
      const close = closingQuote(src, i, q);
      if (close < 0) {
        throw fail(start, `unterminated quoted value ${src.slice(i, endOfLine(src, i))}`);
      }
      const raw = src.slice(i + 1, close);
      const value = q === "'" ? raw : expand(expandEscapes(raw), resolve, file, lineAt(start));
      setKey(out, key, value);
      i = close + 1;
      const rest = src.slice(i, endOfLine(src, i));
      if (rest.trim() !== '' && !/^\s+#/.test(rest) && !rest.trim().startsWith('#')) {
        throw fail(start, `unexpected characters after the quoted value of ${key}: "${rest.trim()}"`);
      }
      i = endOfLine(src, i);
      continue;
    }
    const eol = endOfLine(src, i);
    let value = src.slice(i, eol);
    const comment = value.indexOf(' #');
    if (comment >= 0) value = value.slice(0, comment);
    value = value.replace(/\s+$/, '');
    setKey(out, key, expand(value, resolve, file, lineAt(start)));
    i = eol;
  }
  return out;
}

function endOfLine(src: string, from: number): number {
  const n = src.indexOf('\n', from);
  return n < 0 ? src.length : n;
}

/** The index of the quote closing the one at `open`, skipping backslash-escaped characters. */
function closingQuote(src: string, open: number, quote: string): number {
  let escaped = false;
  for (let i = open + 1; i < src.length; i++) {
    const ch = src[i];
    if (escaped) {
      escaped = false;
      continue;
    }
    if (ch === '\\') escaped = true;
    else if (ch === quote) return i;
  }
  return -1;
}

const GO_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  '"': '"',
};

/** Go-style escapes of a double-quoted value; `\$` becomes `$$` so that it stays a literal `$`. */
function expandEscapes(s: string): string {
  return s.replace(/\\(.)/gs, (m: string, c: string) => (c === '$' ? '$$' : (GO_ESCAPES[c] ?? m)));
}

function expand(value: string, lookup: Lookup, file: string, line: number): string {
  try {
    return substitute(value, lookup);
  } catch (e) {
    if (e instanceof TscError) throw new TscError(e.code, e.message, { file, line, hint: e.hint });
    throw e;
  }
}
