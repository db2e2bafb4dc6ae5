/**
 * A fast reader for the plain shape most compose files have (block mappings and sequences,
 * one-line plain, quoted and flow scalars, anchors, aliases, `<<`, `!reset`/`!override`),
 * building the same `yaml` package nodes its parser would, with the same ranges, so that
 * `parse.ts` turns them into trees and positions exactly as before. The package's lexer and
 * composer cost more than the rest of the loader on large projects.
 *
 * It never decides anything subtle: at the first thing outside that shape (tabs, block
 * scalars, multi-line scalars or flows, explicit keys, other tags, directives, several
 * documents, a duplicate or unusual key, anything it would have to report as an error) it
 * returns undefined and the caller parses the text with the package, which stays the
 * authority for every error and every unusual construct. `fast-yaml.test.ts` compares both.
 */
import { Alias, Document, LineCounter, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Node } from 'yaml';

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

/** Cut a trailing comment (` #` outside quotes) and trailing spaces. */
function stripComment(s: string): string {
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
    if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(s[i - 1] as string))) quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i).trimEnd();
  }
  if (quote !== '') fallback(); // a quoted scalar that goes on to the next line
  return s.trimEnd();
}

function splitLines(text: string, lines: LineCounter): Line[] {
  const out: Line[] = [];
  let start = 0;
  lines.addNewLine(0);
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const raw = text.slice(start, end);
    let indent = 0;
    while (raw.charCodeAt(indent) === 32) indent++;
    const rest = raw.slice(indent);
    if (rest.startsWith('---') || rest.startsWith('...') || (indent === 0 && rest.startsWith('%'))) fallback();
    const content = rest.startsWith('#') ? '' : stripComment(rest);
    if (content !== '') out.push({ start, indent, content });
    if (end === text.length) break;
    start = end + 1;
    lines.addNewLine(start);
  }
  return out;
}

function withRange<T extends Node>(node: T, start: number, end: number): T {
  node.range = [start, end, end];
  return node;
}

function plainScalar(src: string, at: number): Scalar {
  const s = new Scalar(src);
  s.type = 'PLAIN';
  s.source = src;
  return withRange(s, at, at + src.length);
}

/** A quoted scalar that is all of `src`; undefined when `src` is something else. */
function quotedScalar(src: string, at: number): Scalar | undefined {
  const q = src[0];
  if (q !== '"' && q !== "'") return undefined;
  const end = closingQuote(src, 0);
  if (end !== src.length - 1) fallback();
  const s = new Scalar(unquote(src));
  s.type = q === '"' ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE';
  return withRange(s, at, at + src.length);
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
function flowNode(s: string, i: number, base: number): [Node, number] {
  const open = s[i];
  const close = open === '[' ? ']' : '}';
  const node = open === '[' ? new YAMLSeq() : new YAMLMap();
  node.flow = true;
  let j = i + 1;
  const skip = (): void => {
    while (s[j] === ' ') j++;
  };
  skip();
  if (s[j] === close) return [withRange(node, base + i, base + j + 1), j + 1];
  for (;;) {
    skip();
    const [value, after, isKeyCandidate] = flowItem(s, j, base, close);
    j = after;
    skip();
    if (node instanceof YAMLMap) {
      if (!isKeyCandidate || s[j] !== ':') fallback();
      const key = value as Scalar;
      if (key.type === 'PLAIN' && (key.source === '<<' || !PLAIN_KEY.test(String(key.source)) || NON_STRING_WORDS.has(String(key.source)))) fallback();
      j++;
      if (s[j] !== ' ') fallback();
      skip();
      const [v, after2] = flowItem(s, j, base, close);
      j = after2;
      (node as YAMLMap).items.push(new Pair(key, v));
      skip();
    } else {
      if (s[j] === ':') fallback(); // a single-pair map inside a sequence
      (node as YAMLSeq).items.push(value);
    }
    if (s[j] === ',') {
      j++;
      skip();
      if (s[j] === close) fallback(); // trailing comma
      continue;
    }
    if (s[j] === close) return [withRange(node, base + i, base + j + 1), j + 1];
    return fallback();
  }
}

/** One flow entry: a scalar, a quoted scalar or a nested flow collection. */
function flowItem(s: string, j: number, base: number, close: string): [Node, number, boolean] {
  const c = s[j];
  if (c === '[' || c === '{') {
    const [n, after] = flowNode(s, j, base);
    return [n, after, false];
  }
  if (c === '"' || c === "'") {
    const end = closingQuote(s, j);
    return [quotedScalar(s.slice(j, end + 1), base + j) as Scalar, end + 1, true];
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
      const m = /^&(\S+)(?: +|$)/.exec(r) ?? fallback();
      if (!ANCHOR_NAME.test(m[1] as string)) fallback();
      out.anchor = m[1] as string;
      out.rest = r.slice(m[0].length);
      out.at += m[0].length;
    } else if (r.startsWith('!')) {
      if (out.tag !== undefined) fallback();
      const m = /^(!reset|!override)(?: +|$)/.exec(r) ?? fallback();
      out.tag = m[1] as string;
      out.rest = r.slice(m[0].length);
      out.at += m[0].length;
    } else return out;
  }
}

/** An inline value (not empty): alias, quoted, flow or plain scalar. */
function inlineValue(src: string, at: number): Node {
  const c = src[0];
  if (c === '*') {
    const name = src.slice(1);
    if (!ANCHOR_NAME.test(name)) fallback();
    return withRange(new Alias(name), at, at + src.length);
  }
  if (c === '"' || c === "'") return quotedScalar(src, at) as Scalar;
  if (c === '[' || c === '{') {
    const [n, after] = flowNode(src, 0, at);
    if (after !== src.length) fallback();
    return n;
  }
  if (BAD_PLAIN_START.test(src) || /: |:$/.test(src)) fallback();
  return plainScalar(src, at);
}

/** Anchored nodes by name, sorted by where they start (what `parse.ts` looks aliases up in). */
export type AnchorIndex = Map<string, Array<{ start: number; node: Node }>>;

class Reader {
  i = 0;
  readonly anchors: AnchorIndex = new Map();
  constructor(private readonly lines: Line[]) {}

  peek(): Line | undefined {
    return this.lines[this.i];
  }

  /** A block node at the current line, whose indentation is `indent`. */
  block(indent: number): Node {
    const line = this.peek() as Line;
    return isSeqItem(line.content) ? this.seq(indent, line.content, line.start + indent) : this.map(indent, line.content, line.start + indent);
  }

  /**
   * A block mapping at column `col`; its first entry is `content` at offset `at` (which may
   * sit after a `- ` on the current line).
   */
  map(col: number, content: string, at: number): YAMLMap {
    const map = new YAMLMap();
    const seen = new Set<string>();
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
      const [key, rest, restAt] = this.key(text, off);
      const keyName = key.type === 'PLAIN' ? String(key.source) : String(key.value);
      if (seen.has(keyName)) fallback();
      seen.add(keyName);
      map.items.push(new Pair(key, this.value(col, rest, restAt, true)));
    }
    return withRange(map, at, at);
  }

  /** The key of a `key: value` line, and what follows the colon. */
  key(text: string, off: number): [Scalar, string, number] {
    let keyEnd: number;
    let key: Scalar;
    if (text[0] === '"' || text[0] === "'") {
      keyEnd = closingQuote(text, 0) + 1;
      key = quotedScalar(text.slice(0, keyEnd), off) as Scalar;
      if (text[keyEnd] !== ':') fallback();
    } else {
      const m = /:(?: |$)/.exec(text) ?? fallback();
      keyEnd = m.index;
      const src = text.slice(0, keyEnd);
      if (src !== '<<' && (!PLAIN_KEY.test(src) || NON_STRING_WORDS.has(src))) fallback();
      key = plainScalar(src, off);
    }
    if (key.type !== 'PLAIN' && String(key.value).includes('\n')) fallback();
    let restAt = keyEnd + 1;
    while (text[restAt] === ' ') restAt++;
    return [key, text.slice(restAt), off + restAt];
  }

  /** The value after `key:` (or `-`) on a line whose block sits at `col`. */
  value(col: number, rest: string, at: number, inMap: boolean): Node {
    const p = props(rest, at);
    let node: Node;
    if (p.rest === '') {
      const next = this.peek();
      if (next !== undefined && next.indent > col) node = this.block(next.indent);
      else if (inMap && next !== undefined && next.indent === col && isSeqItem(next.content)) node = this.seq(col, next.content, next.start + col);
      else node = withRange(new Scalar(null), p.at, p.at);
      if (node instanceof Scalar) {
        node.type = 'PLAIN';
        node.source = '';
      }
    } else {
      node = inlineValue(p.rest, p.at);
      if (node instanceof Alias && (p.anchor !== undefined || p.tag !== undefined)) fallback();
      const next = this.peek();
      if (next !== undefined && next.indent > col) fallback(); // a multi-line scalar or a nested block after a value
    }
    if (p.anchor !== undefined) {
      node.anchor = p.anchor;
      const list = this.anchors.get(p.anchor) ?? [];
      list.push({ start: node.range?.[0] ?? 0, node });
      this.anchors.set(p.anchor, list);
    }
    if (p.tag !== undefined) node.tag = p.tag;
    return node;
  }

  seq(col: number, content: string, at: number): YAMLSeq {
    const seq = new YAMLSeq();
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
        seq.items.push(this.block((next as Line).indent));
      } else if (isSeqItem(rest)) {
        fallback();
      } else if (isMapEntry(rest)) {
        this.i--; // map() reads its first entry from this line itself
        seq.items.push(this.map(itemCol, rest, off + gap));
      } else {
        seq.items.push(this.value(col, rest, off + gap, false));
      }
    }
    return withRange(seq, at, at);
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
 * The document of `text`, built as `parseAllDocuments` would for this shape, with its line
 * counter; undefined when the package must parse it.
 */
export function fastParseDocument(text: string): { doc: Document; lines: LineCounter; anchors: AnchorIndex } | undefined {
  if (text.includes('\t') || text.includes('\r') || text.startsWith('\uFEFF')) return undefined;
  try {
    const lines = new LineCounter();
    const all = splitLines(text, lines);
    const first = all[0];
    if (first === undefined || first.indent !== 0 || isSeqItem(first.content)) return undefined;
    const reader = new Reader(all);
    const root = reader.block(0);
    if (reader.i !== all.length) return undefined;
    const doc = new Document();
    doc.contents = root;
    // Nodes were finished inside out: put each name's anchors back in document order.
    for (const list of reader.anchors.values()) list.sort((a, b) => a.start - b.start);
    return { doc, lines, anchors: reader.anchors };
  } catch (e) {
    if (e instanceof Fallback) return undefined;
    throw e;
  }
}
