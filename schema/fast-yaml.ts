/**
 * A fast reader for the plain shape most compose files have (block mappings and sequences,
 * one-line plain, quoted and flow scalars, anchors, aliases, `<<`, `!reset`/`!override`),
 * into the nodes `parse.ts` walks (`yaml-node.ts`), with the positions the `yaml` package's
 * parser gives the same nodes, so that `parse.ts` turns them into the same trees, positions
 * and errors. The package's lexer and composer (and loading the package at all) cost more than
 * the rest of the loader on large projects.
 *
 * It never decides anything subtle: at the first thing outside that shape (tabs, block
 * scalars, multi-line scalars or flows, explicit keys, other tags, directives, several
 * documents, a duplicate or unusual key, anything it would have to report as an error) it
 * returns undefined and the caller parses the text with the package, which stays the
 * authority for every error and every unusual construct. `fast-yaml.test.ts` compares both.
 */
import { yamlNode, type AnchorIndex, type YamlNode } from './yaml-node.js';

export type { AnchorIndex } from './yaml-node.js';

class Fallback extends Error {}

const fallback = (): never => {
  throw new Fallback();
};

interface Line {
  /** Offset of the line's first character in the text. */
  start: number;
  indent: number;
  /** The line without indentation, comment and trailing spaces. */
  content: string;
}

/** Plain keys read back as the same string (no number, boolean or null look-alike). */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
const NON_STRING_WORDS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
const ANCHOR_NAME = /^[A-Za-z0-9_.-]+$/;
/** Characters that make a block plain scalar start something else (or an error). */
const BAD_PLAIN_START = /^[,[\]{}#&*!|>'"%@`]|^[?:-](?: |$)/;
/*
 * Regular expressions used per line or per value live here, once: a literal in a function body
 * is a new RegExp object each time it is evaluated.
 */
const QUOTE_AFTER = /[\s[{,:]/;
const ANCHOR_PROP = /^&(\S+)(?: +|$)/;
const TAG_PROP = /^(!reset|!override)(?: +|$)/;
const MAP_INDICATOR = /: |:$/;
const KEY_END = /:(?: |$)/;

/** Cut a trailing comment (` #` outside quotes) and trailing spaces. */
function stripComment(s: string): string {
  if (!s.includes('#') && !s.includes('"') && !s.includes("'")) return s.trimEnd();
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== '') {
      if (c === quote) {
        if (quote === "'" && s[i + 1] === "'") i++;
        else quote = '';
      } else if (c === '\\' && quote === '"') i++;
      continue;
    }
    if ((c === '"' || c === "'") && (i === 0 || QUOTE_AFTER.test(s[i - 1] as string))) quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i).trimEnd();
  }
  if (quote !== '') fallback(); // a quoted scalar that goes on to the next line
  return s.trimEnd();
}

/** Where each line of the text starts, and the line and column of an offset. */
class LinePositions {
  readonly starts: number[] = [];
  /** The line of the offset asked last: nodes are made mostly in document order. */
  private k = 0;

  /** The 1-based line of `offset`; `col` is then its 1-based column (no array per node). */
  col = 1;
  line(offset: number): number {
    const s = this.starts;
    let k = this.k;
    while (k + 1 < s.length && (s[k + 1] as number) <= offset) k++;
    while (k > 0 && (s[k] as number) > offset) k--;
    this.k = k;
    this.col = offset - (s[k] as number) + 1;
    return k + 1;
  }
}

function splitLines(text: string, lines: LinePositions): Line[] {
  const out: Line[] = [];
  let start = 0;
  lines.starts.push(0);
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let indent = 0;
    while (start + indent < end && text.charCodeAt(start + indent) === 32) indent++;
    const rest = text.slice(start + indent, end);
    if (rest.startsWith('---') || rest.startsWith('...') || (indent === 0 && rest.startsWith('%'))) fallback();
    const content = rest.startsWith('#') ? '' : stripComment(rest);
    if (content !== '') out.push({ start, indent, content });
    if (end === text.length) break;
    start = end + 1;
    lines.starts.push(start);
  }
  return out;
}

/** The line positions of the text being read (one text at a time; reading is synchronous). */
let positions = new LinePositions();

function node(kind: YamlNode['kind'], at: number): YamlNode {
  const line = positions.line(at);
  return yamlNode(kind, at, line, positions.col);
}

function plainScalar(src: string, at: number): YamlNode {
  const s = node('scalar', at);
  s.plain = src;
  s.raw = src;
  s.merge = src === '<<';
  return s;
}

/** A quoted scalar that is all of `src`; undefined when `src` is something else. */
function quotedScalar(src: string, at: number): YamlNode | undefined {
  const q = src[0];
  if (q !== '"' && q !== "'") return undefined;
  const end = closingQuote(src, 0);
  if (end !== src.length - 1) fallback();
  const s = node('scalar', at);
  s.raw = unquote(src);
  return s;
}

/** Index of the quote closing the one at `from`. */
function closingQuote(s: string, from: number): number {
  const q = s[from];
  for (let i = from + 1; i < s.length; i++) {
    const c = s[i];
    if (q === '"' && c === '\\') {
      i++;
      continue;
    }
    if (c === q) {
      if (q === "'" && s[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  return fallback();
}

const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', t: '\t', '/': '/' };

function unquote(src: string): string {
  const body = src.slice(1, -1);
  if (src[0] === "'") return body.replace(/''/g, "'");
  return body.replace(/\\(.)/g, (_m, c: string) => ESCAPES[c] ?? fallback());
}

/** A one-line flow collection `[...]` / `{...}` starting at `s[i]`; returns the node and the index after it. */
function flowNode(s: string, i: number, base: number): [YamlNode, number] {
  const open = s[i];
  const close = open === '[' ? ']' : '}';
  const isMap = open === '{';
  const flow = node(isMap ? 'map' : 'seq', base + i);
  const items: YamlNode[] = [];
  const values: YamlNode[] = [];
  flow.items = items;
  if (isMap) flow.values = values;
  let j = i + 1;
  const skip = (): void => {
    while (s[j] === ' ') j++;
  };
  skip();
  if (s[j] === close) return [flow, j + 1];
  for (;;) {
    skip();
    const [value, after, isKeyCandidate] = flowItem(s, j, base, close);
    j = after;
    skip();
    if (isMap) {
      if (!isKeyCandidate || s[j] !== ':') fallback();
      const key = value;
      if (key.plain !== undefined && (key.plain === '<<' || !PLAIN_KEY.test(key.plain) || NON_STRING_WORDS.has(key.plain))) fallback();
      j++;
      if (s[j] !== ' ') fallback();
      skip();
      const [v, after2] = flowItem(s, j, base, close);
      j = after2;
      items.push(key);
      values.push(v);
      skip();
    } else {
      if (s[j] === ':') fallback(); // a single-pair map inside a sequence
      items.push(value);
    }
    if (s[j] === ',') {
      j++;
      skip();
      if (s[j] === close) fallback(); // trailing comma
      continue;
    }
    if (s[j] === close) return [flow, j + 1];
    return fallback();
  }
}

/** One flow entry: a scalar, a quoted scalar or a nested flow collection. */
function flowItem(s: string, j: number, base: number, close: string): [YamlNode, number, boolean] {
  const c = s[j];
  if (c === '[' || c === '{') {
    const [n, after] = flowNode(s, j, base);
    return [n, after, false];
  }
  if (c === '"' || c === "'") {
    const end = closingQuote(s, j);
    return [quotedScalar(s.slice(j, end + 1), base + j) as YamlNode, end + 1, true];
  }
  let k = j;
  while (k < s.length && s[k] !== ',' && s[k] !== close && s[k] !== '[' && s[k] !== ']' && s[k] !== '{' && s[k] !== '}' && !(s[k] === ':' && (s[k + 1] === ' ' || s[k + 1] === ',' || s[k + 1] === close))) k++;
  const src = s.slice(j, k).trimEnd();
  if (src === '' || BAD_PLAIN_START.test(src) || src.includes(' #')) fallback();
  return [plainScalar(src, base + j), j + src.length, true];
}

interface Props {
  anchor?: string;
  tag?: string;
  rest: string;
  at: number;
}

/** `&anchor` and `!reset`/`!override` in front of a value. */
function props(rest: string, at: number): Props {
  const out: Props = { rest, at };
  for (;;) {
    const r = out.rest;
    if (r.startsWith('&')) {
      if (out.anchor !== undefined) fallback();
      const m = ANCHOR_PROP.exec(r) ?? fallback();
      if (!ANCHOR_NAME.test(m[1] as string)) fallback();
      out.anchor = m[1] as string;
      out.rest = r.slice(m[0].length);
      out.at += m[0].length;
    } else if (r.startsWith('!')) {
      if (out.tag !== undefined) fallback();
      const m = TAG_PROP.exec(r) ?? fallback();
      out.tag = m[1] as string;
      out.rest = r.slice(m[0].length);
      out.at += m[0].length;
    } else return out;
  }
}

/** An inline value (not empty): alias, quoted, flow or plain scalar. */
function inlineValue(src: string, at: number): YamlNode {
  const c = src[0];
  if (c === '*') {
    const name = src.slice(1);
    if (!ANCHOR_NAME.test(name)) fallback();
    const alias = node('alias', at);
    alias.raw = name;
    return alias;
  }
  if (c === '"' || c === "'") return quotedScalar(src, at) as YamlNode;
  if (c === '[' || c === '{') {
    const [n, after] = flowNode(src, 0, at);
    if (after !== src.length) fallback();
    return n;
  }
  if (BAD_PLAIN_START.test(src) || MAP_INDICATOR.test(src)) fallback();
  return plainScalar(src, at);
}

class Reader {
  i = 0;
  readonly anchors: AnchorIndex = new Map();
  constructor(private readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  /** A block node at the current line, whose indentation is `indent`. */
  block(indent: number): YamlNode {
    const line = this.peek() as Line;
    return isSeqItem(line.content) ? this.seq(indent, line.content, line.start + indent) : this.map(indent, line.content, line.start + indent);
  }

  /**
   * A block mapping at column `col`; its first entry is `content` at offset `at` (which may
   * sit after a `- ` on the current line).
   */
  map(col: number, content: string, at: number): YamlNode {
    const map = node('map', at);
    const keys: YamlNode[] = [];
    const values: YamlNode[] = [];
    map.items = keys;
    map.values = values;
    // duplicate keys go to the package (it reports them); a Set only for long mappings
    let seen: Set<string> | undefined;
    let first = true;
    for (;;) {
      let text = content;
      let off = at;
      if (!first) {
        const line = this.peek();
        if (line === undefined || line.indent < col) break;
        if (line.indent > col || isSeqItem(line.content)) fallback();
        text = line.content;
        off = line.start + line.indent;
      }
      first = false;
      this.i++;
      const key = this.key(text, off);
      const keyName = String(key.raw);
      if (seen !== undefined) {
        if (seen.has(keyName)) fallback();
        seen.add(keyName);
      } else {
        for (const k of keys) if (k.raw === keyName) fallback();
        if (keys.length === 8) seen = new Set(keys.map((k) => String(k.raw)).concat(keyName));
      }
      keys.push(key);
      values.push(this.value(col, this.rest, this.restAt, true));
    }
    return map;
  }

  /** What follows the colon of the last `key()`, and its offset. */
  rest = '';
  restAt = 0;

  /** The key of a `key: value` line; what follows the colon is left in `rest` / `restAt`. */
  key(text: string, off: number): YamlNode {
    let keyEnd: number;
    let key: YamlNode;
    if (text[0] === '"' || text[0] === "'") {
      keyEnd = closingQuote(text, 0) + 1;
      key = quotedScalar(text.slice(0, keyEnd), off) as YamlNode;
      if (text[keyEnd] !== ':') fallback();
    } else {
      const m = KEY_END.exec(text) ?? fallback();
      keyEnd = m.index;
      const src = text.slice(0, keyEnd);
      if (src !== '<<' && (!PLAIN_KEY.test(src) || NON_STRING_WORDS.has(src))) fallback();
      key = plainScalar(src, off);
    }
    if (key.plain === undefined && String(key.raw).includes('\n')) fallback();
    let restAt = keyEnd + 1;
    while (text[restAt] === ' ') restAt++;
    this.rest = text.slice(restAt);
    this.restAt = off + restAt;
    return key;
  }

  /** The value after `key:` (or `-`) on a line whose block sits at `col`. */
  value(col: number, rest: string, at: number, inMap: boolean): YamlNode {
    let text = rest;
    let textAt = at;
    let anchor: string | undefined;
    let tag: string | undefined;
    if (rest[0] === '&' || rest[0] === '!') {
      const p = props(rest, at);
      text = p.rest;
      textAt = p.at;
      anchor = p.anchor;
      tag = p.tag;
    }
    let n: YamlNode;
    if (text === '') {
      const next = this.peek();
      if (next !== undefined && next.indent > col) n = this.block(next.indent);
      else if (inMap && next !== undefined && next.indent === col && isSeqItem(next.content)) n = this.seq(col, next.content, next.start + col);
      else {
        // an empty value: a plain null scalar
        n = node('scalar', textAt);
        n.plain = '';
      }
    } else {
      n = inlineValue(text, textAt);
      if (n.kind === 'alias' && (anchor !== undefined || tag !== undefined)) fallback();
      const next = this.peek();
      if (next !== undefined && next.indent > col) fallback(); // a multi-line scalar or a nested block after a value
    }
    if (anchor !== undefined) {
      n.anchor = anchor;
      const list = this.anchors.get(anchor) ?? [];
      list.push({ start: n.start, node: n });
      this.anchors.set(anchor, list);
    }
    if (tag !== undefined) n.tag = tag;
    return n;
  }

  seq(col: number, content: string, at: number): YamlNode {
    const seq = node('seq', at);
    const items: YamlNode[] = [];
    seq.items = items;
    let first = true;
    for (;;) {
      let text = content;
      let off = at;
      if (!first) {
        const line = this.peek();
        if (line === undefined || line.indent < col) break;
        if (line.indent > col || !isSeqItem(line.content)) {
          if (line.indent === col) break; // the mapping this sequence is the value of goes on
          fallback();
        }
        text = line.content;
        off = line.start + line.indent;
      }
      first = false;
      this.i++;
      let gap = 1;
      while (text[gap] === ' ') gap++;
      const rest = text.slice(gap);
      const itemCol = col + gap;
      if (rest === '') {
        const next = this.peek();
        if (next === undefined || next.indent <= col) fallback(); // an empty item
        items.push(this.block((next as Line).indent));
      } else if (isSeqItem(rest)) {
        fallback();
      } else if (isMapEntry(rest)) {
        this.i--; // map() reads its first entry from this line itself
        items.push(this.map(itemCol, rest, off + gap));
      } else {
        items.push(this.value(col, rest, off + gap, false));
      }
    }
    return seq;
  }
}

function isSeqItem(content: string): boolean {
  return content === '-' || content.startsWith('- ');
}

/** Whether an item's text is a `key: value` entry (a compact mapping). */
function isMapEntry(text: string): boolean {
  const c = text[0];
  if (c === '"' || c === "'") {
    const end = closingQuote(text, 0);
    return text[end + 1] === ':';
  }
  if (c === '[' || c === '{' || c === '*' || c === '&' || c === '!') return false;
  return /:(?: |$)/.test(text);
}

/**
 * The root node of `text`'s one document, as `parse.ts` would get it from the package for this
 * shape, with its anchors; undefined when the package must parse it.
 */
export function fastParseDocument(text: string): { root: YamlNode; anchors: AnchorIndex } | undefined {
  if (text.includes('\t') || text.includes('\r') || text.startsWith('\uFEFF')) return undefined;
  positions = new LinePositions();
  try {
    const all = splitLines(text, positions);
    const first = all[0];
    if (first === undefined || first.indent !== 0 || isSeqItem(first.content)) return undefined;
    const reader = new Reader(all);
    const root = reader.block(0);
    if (reader.i !== all.length) return undefined;
    // Nodes were finished inside out: put each name's anchors back in document order.
    for (const list of reader.anchors.values()) list.sort((a, b) => a.start - b.start);
    return { root, anchors: reader.anchors };
  } catch (e) {
    if (e instanceof Fallback) return undefined;
    throw e;
  } finally {
    positions = new LinePositions();
  }
}
