/**
 * Dockerfile parsing as BuildKit's dockerfile frontend does it (`frontend/dockerfile/parser`
 * then `instructions/parse.go`): parser directives, comments, escape-token line continuations,
 * heredocs, JSON (exec) vs shell form, instruction flags, and each instruction's argument rules
 * and error messages. Values are kept raw (quotes, `$VAR`): expansion needs the ARG/ENV scope
 * of the stage and happens in `shell-words.ts`/`stage-scope`, as BuildKit defers it to dispatch.
 */
import { TscError } from '../../lib/errors.js';
import { isGoSpace, processWords } from './shell-words.js';

export interface Heredoc {
  /** The delimiter word, quotes removed. */
  name: string;
  /** The body, each line ending in `\n`, leading tabs removed for `<<-`. */
  content: string;
  /** False when the delimiter was quoted: the body is not expanded. */
  expand: boolean;
  /** `<<-`: leading tabs stripped. */
  chomp: boolean;
  /** `3<<EOF` feeds file descriptor 3; 0 (stdin) by default. */
  fd: number;
}

/** RUN/CMD/ENTRYPOINT: exec form runs `args` directly; shell form prepends the SHELL. */
export interface CommandLine {
  args: string[];
  prependShell: boolean;
}

export interface KeyValue {
  key: string;
  value: string;
}

interface Base {
  /** 1-based line the instruction starts on. */
  line: number;
  /** The instruction as written, continuations joined (Docker's history shows it). */
  original: string;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** Stage name from `AS name`, lowercased. */
  name?: string;
  platform?: string;
}
export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandLine;
  heredocs: Heredoc[];
  mounts: string[];
  network?: string;
  security?: string;
}
export interface CmdInstruction extends Base {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandLine;
}
export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}
export interface EnvInstruction extends Base {
  kind: 'ENV' | 'LABEL';
  pairs: KeyValue[];
}
export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: { name: string; default?: string }[];
}
export interface WordInstruction extends Base {
  kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER';
  value: string;
}
export interface ListInstruction extends Base {
  kind: 'EXPOSE' | 'VOLUME';
  values: string[];
}
export interface InlineSource {
  /** The heredoc delimiter, used as the file name. */
  name: string;
  data: string;
  expand: boolean;
}
export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  inline: InlineSource[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir: boolean;
}
export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  /** `['NONE']`, `['CMD', ...exec]` or `['CMD-SHELL', command]`, as in the image config. */
  test: string[];
  /** Durations in nanoseconds; 0 = inherit the default. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}
export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as written after ONBUILD (what the image config stores). */
  expression: string;
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | ShellInstruction
  | EnvInstruction
  | ArgInstruction
  | WordInstruction
  | ListInstruction
  | CopyInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export interface Dockerfile {
  /** Parser directives by lowercase name (`syntax`, `escape`, `check`). */
  directives: Record<string, string>;
  escape: string;
  instructions: Instruction[];
  /** BuildKit's parse warnings, e.g. empty continuation lines. */
  warnings: { line: number; message: string }[];
}

export interface ParseOptions {
  /** Name used in error messages; `Dockerfile` by default. */
  file?: string;
}

const reDirective = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const allowedDirectives = new Set(['escape', 'syntax', 'check']);
const reWhitespace = /[\t\v\f\r ]+/;
const heredocInstructions = new Set(['ADD', 'COPY', 'RUN']);

interface RawNode {
  cmd: string;
  flags: string[];
  args: string[];
  json: boolean;
  original: string;
  heredocs: Heredoc[];
  sub?: RawNode;
}

class ParseFailure extends Error {}

function trimLeft(s: string): string {
  let i = 0;
  const chars = [...s];
  while (i < chars.length && isGoSpace(chars[i] ?? '')) i++;
  return chars.slice(i).join('');
}

/** Parse a Dockerfile's text into typed instructions with their line numbers. */
export function parseDockerfile(source: string, opts: ParseOptions = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile';
  const fail = (line: number, message: string): never => {
    throw new TscError('ERR_DOCKERFILE', message, { file, line });
  };
  let lines = source.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0) lines[0] = (lines[0] ?? '').replace(/^\ufeff/, '');

  const directives: Record<string, string> = {};
  let directivesDone = false;
  let escape = '\\';
  let continuation = /\\[ \t]*$/;
  const possibleDirective = (line: string, at: number): void => {
    if (directivesDone) return;
    const m = reDirective.exec(line);
    const key = m?.[1]?.toLowerCase();
    if (m === null || key === undefined || !allowedDirectives.has(key)) {
      directivesDone = true;
      return;
    }
    if (key in directives) fail(at, `only one ${key} parser directive can be used`);
    const value = m[2] ?? '';
    directives[key] = value;
    if (key === 'escape') {
      if (value !== '`' && value !== '\\') fail(at, `invalid ESCAPE '${value}'. Must be \` or \\`);
      escape = value;
      continuation = new RegExp(`\\${value}[ \\t]*$`);
    }
  };
  const processLine = (raw: string, stripLeft: boolean, at: number): string => {
    const token = stripLeft ? trimLeft(raw) : raw;
    possibleDirective(token, at);
    return /^#/.test(token) ? '' : token;
  };
  const trimContinuation = (line: string): [string, boolean] =>
    continuation.test(line) ? [line.replace(continuation, ''), false] : [line, true];
  const isComment = (raw: string): boolean => /^#/.test(trimLeft(raw));

  const instructions: Instruction[] = [];
  const warnings: { line: number; message: string }[] = [];
  let sawFrom = false;
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    const first = processLine(lines[i] ?? '', true, startLine);
    i++;
    let [line, endOfLine] = trimContinuation(first);
    if (endOfLine && line === '') continue;
    let emptyContinuation = false;
    while (!endOfLine && i < lines.length) {
      const raw = lines[i] ?? '';
      const processed = processLine(raw, false, i + 1);
      i++;
      if (isComment(raw)) continue;
      if (trimLeft(processed) === '') {
        emptyContinuation = true;
        continue;
      }
      const [cont, end] = trimContinuation(processed);
      endOfLine = end;
      line += cont;
    }
    if (emptyContinuation) warnings.push({ line: startLine, message: `Empty continuation line found in: ${line}` });
    let node: RawNode;
    try {
      node = nodeFromLine(line, escape);
    } catch (e) {
      if (e instanceof ParseFailure) return fail(startLine, e.message);
      throw e;
    }
    // ONBUILD is compound: its trigger decides whether heredocs follow.
    const inner = node.cmd.toUpperCase() === 'ONBUILD' && node.sub !== undefined ? node.sub : node;
    if (heredocInstructions.has(inner.cmd.toUpperCase()) && !inner.json && line.includes('<<')) {
      let docs: Heredoc[];
      try {
        docs = heredocsFromLine(line);
      } catch (e) {
        if (e instanceof ParseFailure) return fail(startLine, e.message);
        throw e;
      }
      for (const doc of docs) {
        let terminated = false;
        while (i < lines.length) {
          const raw = lines[i] ?? '';
          i++;
          const candidate = doc.chomp ? raw.replace(/^\t+/, '') : raw;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          doc.content += raw + '\n';
        }
        if (!terminated) fail(startLine, 'unterminated heredoc');
        if (doc.chomp) doc.content = doc.content.replace(/^\t+/gm, '');
        node.heredocs.push(doc);
        if (inner !== node) inner.heredocs.push(doc);
      }
    }
    try {
      const instruction = toInstruction(node, startLine);
      if (instruction.kind === 'FROM') sawFrom = true;
      else if (!sawFrom && instruction.kind !== 'ARG') {
        throw new TscError('ERR_DOCKERFILE', `${instruction.kind}: no build stage in current context`, {
          file,
          line: startLine,
          hint: 'a Dockerfile starts with FROM; only ARG may come before the first FROM',
        });
      }
      instructions.push(instruction);
    } catch (e) {
      if (e instanceof ParseFailure) return fail(startLine, e.message);
      throw e;
    }
  }
  if (instructions.length === 0) fail(1, 'file with no instructions');
  return { directives, escape, instructions, warnings };
}

function nodeFromLine(line: string, escape: string): RawNode {
  const trimmed = line.trim();
  const m = /^(\S+)(?:[\t\v\f\r ]+([\s\S]*))?$/.exec(trimmed);
  const cmd = m?.[1] ?? '';
  let flags: string[] = [];
  let rest = '';
  if (m?.[2] !== undefined) [rest, flags] = extractBuilderFlags(m[2]);
  rest = rest.trim();
  const node: RawNode = { cmd, flags, args: [], json: false, original: line, heredocs: [] };
  switch (cmd.toUpperCase()) {
    case 'FROM':
    case 'EXPOSE':
      node.args = rest === '' ? [] : rest.split(reWhitespace);
      break;
    case 'ARG':
      node.args = parseWords(rest, escape);
      break;
    case 'ENV':
    case 'LABEL':
      node.args = parseNameVal(rest, cmd.toUpperCase(), escape);
      break;
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
      node.args = rest === '' ? [] : [rest];
      break;
    case 'ADD':
    case 'COPY':
    case 'VOLUME':
      maybeJson(node, rest, true);
      break;
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
      maybeJson(node, rest, false);
      break;
    case 'HEALTHCHECK': {
      const sep = rest.search(/\s/);
      const typ = sep < 0 ? rest : rest.slice(0, sep);
      if (typ === '') break;
      const after = sep < 0 ? '' : trimLeft(rest.slice(sep));
      maybeJson(node, after, false);
      node.args.unshift(typ);
      break;
    }
    case 'ONBUILD':
      if (rest !== '') {
        node.sub = nodeFromLine(rest, escape);
        node.args = [rest];
      }
      break;
    default:
      break;
  }
  return node;
}

/** JSON array of strings, or not JSON at all; a JSON array of non-strings is an error. */
function parseJsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(rest);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) {
    throw new ParseFailure('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value as string[];
}

function maybeJson(node: RawNode, rest: string, toList: boolean): void {
  if (rest === '' && !toList) return;
  const json = parseJsonArray(rest);
  if (json !== undefined) {
    node.args = json;
    node.json = true;
  } else if (toList) {
    node.args = rest === '' ? [] : rest.split(reWhitespace);
  } else {
    node.args = [rest];
  }
}

/** Leading `--flag[=value]` words (quotes and backslashes honoured); returns the rest. */
function extractBuilderFlags(line: string): [string, string[]] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? (line[pos] ?? '') : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isGoSpace(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return [line.slice(pos), words];
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return [line.slice(pos), words];
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos] ?? '';
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = line[pos] ?? '';
    }
    word += ch;
  }
  return ['', words];
}

/** Whitespace-separated words keeping quotes and escapes (ARG, ENV/LABEL `k=v` forms). */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  const chars = [...rest];
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (isGoSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos] ?? '';
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] ?? '';
    }
    word += ch;
  }
  return words;
}

/** `KEY name value` (legacy) or `KEY a=1 b="2 3"`; returns [k, v, k, v, ...], raw. */
function parseNameVal(rest: string, key: string, escape: string): string[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) return [];
  if (!(words[0] ?? '').includes('=')) {
    const parts = rest.split(reWhitespace);
    if (parts.length < 2) throw new ParseFailure(`${key} must have two arguments`);
    const sep = /[\t\v\f\r ]+/.exec(rest);
    return [parts[0] ?? '', rest.slice((sep?.index ?? 0) + (sep?.[0].length ?? 0))];
  }
  const out: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) throw new ParseFailure(`Syntax error - can't find = in ${goQuote(word)}. Must be of the form: name=value`);
    out.push(word.slice(0, eq), word.slice(eq + 1));
  }
  return out;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

const reHeredoc = /^(\d*)<<(-?)([^<]*)$/;

/** A word like `<<EOF`, `<<-"EOF"`, `3<<'END'` as a heredoc, or undefined. */
export function parseHeredoc(src: string): Heredoc | undefined {
  const m = reHeredoc.exec(src);
  if (m === null) return undefined;
  const rest = m[3] ?? '';
  if (rest.length === 0) return undefined;
  let words: string[];
  let raw: string[];
  try {
    words = processWords(rest, () => undefined, { skipUnsetEnv: true });
    raw = processWords(rest, () => undefined, { skipUnsetEnv: true, rawQuotes: true });
  } catch (e) {
    throw new ParseFailure((e as Error).message);
  }
  if (words.length !== 1) return undefined;
  if (raw.length !== words.length) throw new ParseFailure(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const word = words[0] ?? '';
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  return {
    name: word,
    content: '',
    expand: quotes(word) === quotes(raw[0] ?? ''),
    chomp: m[2] === '-',
    fd: m[1] === '' ? 0 : Number(m[1]),
  };
}

function heredocsFromLine(line: string): Heredoc[] {
  let words: string[];
  try {
    words = processWords(line, () => undefined, { rawQuotes: true, rawEscapes: true });
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (const word of words) {
    const doc = parseHeredoc(word);
    if (doc !== undefined) docs.push(doc);
  }
  return docs;
}

type FlagType = 'bool' | 'string' | 'strings';
const flagSpecs: Record<string, Record<string, FlagType>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', exclude: 'strings' },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

type FlagValues = Map<string, string | string[]>;

/** BuildKit's BFlags: `--name=value`, `--bool[=true|false]`, repeatable string lists. */
function parseFlags(kind: string, args: string[]): FlagValues {
  const spec = flagSpecs[kind] ?? {};
  const out: FlagValues = new Map();
  for (const a of args) {
    if (a === '--') break;
    if (!a.startsWith('--')) throw new ParseFailure(`arg should start with -- : ${a}`);
    const body = a.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? '' : body.slice(eq + 1);
    const type = spec[name];
    if (type === undefined) throw new ParseFailure(`unknown flag: ${name}`);
    if (out.has(name) && type !== 'strings') throw new ParseFailure(`duplicate flag specified: ${name}`);
    if (type === 'bool') {
      if (eq >= 0 && value === '') throw new ParseFailure(`missing a value on flag: ${name}`);
      const v = value.toLowerCase();
      if (v !== 'true' && v !== '' && v !== 'false') {
        throw new ParseFailure(`expecting boolean value for flag ${name}, not: ${value}`);
      }
      out.set(name, v === 'false' ? 'false' : 'true');
    } else {
      if (eq < 0) throw new ParseFailure(`missing a value on flag: ${name}`);
      if (type === 'string') out.set(name, value);
      else out.set(name, [...((out.get(name) as string[] | undefined) ?? []), value]);
    }
  }
  return out;
}

const str = (f: FlagValues, name: string): string | undefined => {
  const v = f.get(name);
  return typeof v === 'string' ? v : undefined;
};
const strs = (f: FlagValues, name: string): string[] => {
  const v = f.get(name);
  return Array.isArray(v) ? v : [];
};
const optional = <K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> =>
  v === undefined ? {} : ({ [key]: v } as Record<K, string>);

const validStageName = /^[a-z][a-z0-9-_.]*$/;

function commandLine(node: RawNode): CommandLine {
  if (node.args.length === 0) return { args: [], prependShell: !node.json };
  return { args: node.json ? node.args : [node.args.join(' ')], prependShell: !node.json };
}

function toInstruction(node: RawNode, line: number): Instruction {
  const kind = node.cmd.toUpperCase();
  const base = { line, original: node.original.trim() };
  const args = node.args;
  const exactlyOne = (): string => {
    if (args.length !== 1) throw new ParseFailure(`${kind} requires exactly one argument`);
    return args[0] ?? '';
  };
  const atLeastOne = (): void => {
    if (args.length === 0) throw new ParseFailure(`${kind} requires at least one argument`);
  };
  const flags = parseFlags(kind, node.flags);
  switch (kind) {
    case 'FROM': {
      let name: string | undefined;
      if (args.length === 3 && (args[1] ?? '').toLowerCase() === 'as') {
        name = (args[2] ?? '').toLowerCase();
        if (!validStageName.test(name)) {
          throw new ParseFailure(
            `invalid name for build stage: ${goQuote(args[2] ?? '')}, name can't start with a number or contain symbols`,
          );
        }
      } else if (args.length !== 1) {
        throw new ParseFailure('FROM requires either one or three arguments');
      }
      return {
        kind,
        ...base,
        image: args[0] ?? '',
        ...optional('name', name),
        ...optional('platform', str(flags, 'platform')),
      };
    }
    case 'RUN':
      return {
        kind,
        ...base,
        command: commandLine(node),
        heredocs: node.heredocs,
        mounts: strs(flags, 'mount'),
        ...optional('network', str(flags, 'network')),
        ...optional('security', str(flags, 'security')),
      };
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind, ...base, command: commandLine(node) };
    case 'SHELL':
      if (!node.json) throw new ParseFailure('SHELL requires the arguments to be in JSON form');
      atLeastOne();
      return { kind, ...base, shell: args };
    case 'ENV':
    case 'LABEL': {
      atLeastOne();
      const pairs: KeyValue[] = [];
      for (let k = 0; k < args.length; k += 2) {
        const key = args[k] ?? '';
        if (key === '') throw new ParseFailure(`${kind} names can not be blank`);
        pairs.push({ key, value: args[k + 1] ?? '' });
      }
      return { kind, ...base, pairs };
    }
    case 'ARG': {
      atLeastOne();
      const out: ArgInstruction['args'] = [];
      for (const a of args) {
        const eq = a.indexOf('=');
        if (eq === 0) throw new ParseFailure('ARG names can not be blank');
        out.push(eq < 0 ? { name: a } : { name: a.slice(0, eq), default: a.slice(eq + 1) });
      }
      return { kind, ...base, args: out };
    }
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
      return { kind, ...base, value: exactlyOne() };
    case 'EXPOSE':
      atLeastOne();
      return { kind, ...base, values: args };
    case 'VOLUME':
      atLeastOne();
      for (const v of args) if (v.trim() === '') throw new ParseFailure('VOLUME specified can not be an empty string');
      return { kind, ...base, values: args };
    case 'COPY':
    case 'ADD': {
      if (args.length < 2) {
        throw new ParseFailure(
          `${kind} requires at least two arguments, but only one was provided. Destination could not be determined.`,
        );
      }
      const dest = args[args.length - 1] ?? '';
      if (parseHeredoc(dest) !== undefined) throw new ParseFailure(`${kind} cannot accept a heredoc as a destination`);
      const byName = new Map(node.heredocs.map((h) => [h.name, h]));
      const sources: string[] = [];
      const inline: InlineSource[] = [];
      for (const src of args.slice(0, -1)) {
        const doc = node.json ? undefined : parseHeredoc(src);
        if (doc === undefined) sources.push(src);
        else inline.push({ name: doc.name, data: byName.get(doc.name)?.content ?? '', expand: doc.expand });
      }
      return {
        kind,
        ...base,
        sources,
        inline,
        dest,
        ...optional('from', str(flags, 'from')),
        ...optional('chown', str(flags, 'chown')),
        ...optional('chmod', str(flags, 'chmod')),
        link: str(flags, 'link') === 'true',
        parents: str(flags, 'parents') === 'true',
        exclude: strs(flags, 'exclude'),
        ...optional('checksum', str(flags, 'checksum')),
        keepGitDir: str(flags, 'keep-git-dir') === 'true',
      };
    }
    case 'HEALTHCHECK':
      return healthcheck(node, base);
    case 'ONBUILD': {
      atLeastOne();
      const sub = node.sub;
      if (sub === undefined) throw new ParseFailure('ONBUILD requires at least one argument');
      const trigger = sub.cmd.toUpperCase();
      if (trigger === 'ONBUILD') throw new ParseFailure("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'MAINTAINER' || trigger === 'FROM') {
        throw new ParseFailure(`${trigger} isn't allowed as an ONBUILD trigger`);
      }
      let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const doc of node.heredocs) expression += '\n' + doc.content + doc.name;
      return { kind, ...base, expression, trigger: toInstruction(sub, line) };
    }
    default:
      throw new ParseFailure(`unknown instruction: ${node.cmd}`);
  }
}

function healthcheck(node: RawNode, base: Base): HealthcheckInstruction {
  const args = node.args;
  if (args.length === 0) throw new ParseFailure('HEALTHCHECK requires at least one argument');
  let typ = (args[0] ?? '').toUpperCase();
  const rest = args.slice(1);
  const none = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (typ === 'NONE') {
    if (rest.length !== 0) throw new ParseFailure('HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', ...base, test: ['NONE'], ...none };
  }
  const flags = parseFlags('HEALTHCHECK', node.flags);
  if (typ !== 'CMD') throw new ParseFailure(`Unknown type ${goQuote(typ)} in HEALTHCHECK (try CMD)`);
  const cmd = rest.length === 0 ? [] : node.json ? rest : [rest.join(' ')];
  if (cmd.length === 0) throw new ParseFailure('Missing command after HEALTHCHECK CMD');
  if (!node.json) typ = 'CMD-SHELL';
  const interval = (name: string): number => {
    const s = str(flags, name) ?? '';
    if (s === '') return 0;
    const d = parseGoDuration(s);
    if (d === 0) return 0;
    if (d < 1_000_000) throw new ParseFailure(`Interval ${goQuote(name)} cannot be less than 1ms`);
    return d;
  };
  let retries = 0;
  const r = str(flags, 'retries') ?? '';
  if (r !== '') {
    if (!/^[+-]?\d+$/.test(r) || Math.abs(Number(r)) > 2 ** 31 - 1) {
      throw new ParseFailure(`strconv.ParseInt: parsing ${goQuote(r)}: ${/^[+-]?\d+$/.test(r) ? 'value out of range' : 'invalid syntax'}`);
    }
    retries = Number(r);
    if (retries < 0) throw new ParseFailure(`--retries cannot be negative (${retries})`);
  }
  return {
    kind: 'HEALTHCHECK',
    ...base,
    test: [typ, ...cmd],
    interval: interval('interval'),
    timeout: interval('timeout'),
    startPeriod: interval('start-period'),
    startInterval: interval('start-interval'),
    retries,
  };
}

const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds, with its error messages. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const invalid = (): never => {
    throw new ParseFailure(`time: invalid duration ${goQuote(orig)}`);
  };
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') invalid();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    if (whole === '' && (frac === undefined || frac === '')) invalid();
    s = s.slice(m?.[0].length ?? 0);
    const u = /^[^\d.]*/.exec(s)?.[0] ?? '';
    if (u === '') throw new ParseFailure(`time: missing unit in duration ${goQuote(orig)}`);
    const unit = units[u];
    if (unit === undefined) throw new ParseFailure(`time: unknown unit ${goQuote(u)} in duration ${goQuote(orig)}`);
    s = s.slice(u.length);
    total += Number(`${whole === '' ? '0' : whole}.${frac ?? '0'}`) * unit;
  }
  return Math.round(neg ? -total : total);
}
