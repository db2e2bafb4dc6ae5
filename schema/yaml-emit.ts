/**
 * A fast YAML writer for plain trees (objects, arrays, strings, numbers, booleans, null) that
 * prints exactly what the `yaml` package's `stringify` prints with `config`'s options (2-space
 * indent, indented sequences, no line folding, `null`). `config` prints large projects: the
 * package's Document model costs more than the whole rest of the pipeline. Common scalars
 * (identifiers, paths, image names) are written here; any other scalar is handed to the
 * package in the same context, so its quoting rules stay the authority.
 * `yaml-emit.test.ts` compares both on random trees.
 */
import type { ToStringOptions, CreateNodeOptions, DocumentOptions, SchemaOptions } from 'yaml';

import { yamlPackage } from './yaml-package.js';

type Options = DocumentOptions & SchemaOptions & CreateNodeOptions & ToStringOptions;

export const CONFIG_YAML_OPTIONS: Options = { lineWidth: 0, indentSeq: true, aliasDuplicateObjects: false, nullStr: 'null' };

/** The `yaml` package's rules for a one-line string (stringifyString.ts), for printable ASCII. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** The core schema's tags other than str: a plain string matching one would read back as another type. */
const OTHER_TYPE = [
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^0o[0-7]+$/,
  /^[-+]?[0-9]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
const SAFE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

/** The package writes these by where they sit (indent-dependent): left to it whole. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

class NeedsFullStringify extends Error {}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keys repeat across services (image, ports, environment names): each is worked out once. */
const keyTexts = new Map<string, string>();

function keyText(k: string): string {
  let t = keyTexts.get(k);
  if (t === undefined) {
    t = keyTextOf(k);
    keyTexts.set(k, t);
  }
  return t;
}

function keyTextOf(k: string): string {
  if (SAFE_KEY.test(k) && !RESERVED.has(k)) return k;
  const quick = quickString(k, true);
  if (quick !== undefined) return quick;
  if (DOCUMENT_MARKER.test(k)) throw new NeedsFullStringify();
  const s = yamlPackage().stringify({ [k]: 0 }, CONFIG_YAML_OPTIONS);
  if (!s.endsWith(': 0\n') || s.startsWith('? ') || s.indexOf('\n') !== s.length - 1) throw new NeedsFullStringify();
  return s.slice(0, -4);
}

/**
 * A one-line printable-ASCII string as the package writes it (plain, else single quotes when
 * it holds `"` but no `'`, else double quotes), or undefined for the package to decide.
 */
function quickString(v: string, implicitKey: boolean): string | undefined {
  if (!PRINTABLE_ASCII.test(v) || DOCUMENT_MARKER.test(v) || (implicitKey && v.length > 1000)) return undefined;
  if (!NOT_PLAIN.test(v) && !OTHER_TYPE.some((re) => re.test(v))) return v;
  if (v.includes('"') && !v.includes("'")) return `'${v}'`;
  return JSON.stringify(v);
}

/** A scalar after `key: ` or `- ` whose block (if any) sits at `indent`. */
function scalarText(v: unknown, indent: string): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  if (typeof v === 'string') {
    const quick = quickString(v, false);
    if (quick !== undefined) return quick;
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new NeedsFullStringify();
  if (typeof v === 'string' && DOCUMENT_MARKER.test(v)) throw new NeedsFullStringify();
  const s = yamlPackage().stringify({ k: v }, CONFIG_YAML_OPTIONS);
  if (!s.startsWith('k: ')) throw new NeedsFullStringify();
  const body = s.slice(3, -1);
  if (!body.includes('\n')) return body;
  // A block scalar: its lines sit two spaces in from the key's column.
  return body
    .split('\n')
    .map((line, i) => (i === 0 || line === '' ? line : indent + line))
    .join('\n');
}

function emptyCollection(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : undefined;
  if (isPlainObject(v)) {
    for (const k in v) if (Object.hasOwn(v, k) && v[k] !== undefined) return undefined;
    return '{}';
  }
  return undefined;
}

function emitMapping(obj: Record<string, unknown>, indent: string, lead: string, out: string[]): void {
  let prefix = lead;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined) continue;
    const key = keyText(k);
    const inner = indent + '  ';
    if (typeof v === 'object' && v !== null && emptyCollection(v) === undefined) {
      out.push(`${prefix}${key}:`);
      if (Array.isArray(v)) emitSequence(v, inner, inner, out);
      else emitMapping(v as Record<string, unknown>, inner, inner, out);
    } else {
      out.push(`${prefix}${key}: ${emptyCollection(v) ?? scalarText(v, indent)}`);
    }
    prefix = indent;
  }
}

function emitSequence(items: readonly unknown[], indent: string, lead: string, out: string[]): void {
  let prefix = lead;
  for (const item of items) {
    const dash = `${prefix}- `;
    const inner = indent + '  ';
    const v = item === undefined ? null : item;
    if (typeof v === 'object' && v !== null && emptyCollection(v) === undefined) {
      if (Array.isArray(v)) emitSequence(v, inner, dash, out);
      else emitMapping(v as Record<string, unknown>, inner, dash, out);
    } else {
      out.push(`${dash}${emptyCollection(v) ?? scalarText(v, indent)}`);
    }
    prefix = indent;
  }
}

/** `stringify(tree, CONFIG_YAML_OPTIONS)`, fast for the trees `config` prints. */
export function emitYaml(tree: Record<string, unknown>): string {
  try {
    const empty = emptyCollection(tree);
    if (empty !== undefined) return `${empty}\n`;
    const out: string[] = [];
    emitMapping(tree, '', '', out);
    out.push('');
    return out.join('\n');
  } catch (e) {
    if (e instanceof NeedsFullStringify) return yamlPackage().stringify(tree, CONFIG_YAML_OPTIONS);
    throw e;
  }
}
