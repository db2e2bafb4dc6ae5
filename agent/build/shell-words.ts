/**
 * Variable expansion in Dockerfile words, as BuildKit's shell lexer (`frontend/dockerfile/shell/
 * lex.go`) does it: `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`,
 * `${VAR:?w}`, `${VAR%w}`/`%%`/`#`/`##`, `${VAR/p/r}`/`//`, quotes and the escape token.
 * The builder never runs a shell to expand ENV/COPY/WORKDIR...: these rules are the contract.
 * Errors here are plain messages (`Error`); the caller wraps them with the Dockerfile line.
 */

export type EnvLookup = (name: string) => string | undefined;

export interface LexOptions {
  /** The Dockerfile's escape token (`# escape=`): backslash or backtick. */
  escape?: string;
  /** Leave `$X` as is when X is unset (used to read heredoc delimiters). */
  skipUnsetEnv?: boolean;
  /** Keep quote characters in the result. */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Quotes are plain characters (heredoc bodies of COPY/ADD). */
  skipProcessQuotes?: boolean;
}

const EOF = '';

export function isGoSpace(ch: string): boolean {
  return ch !== '' && ch !== '\ufeff' && /^\s$/u.test(ch);
}
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);

/** Accumulates words as the lexer goes: unquoted spaces from expansions split words. */
class Words {
  word = '';
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isGoSpace(ch) && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!isGoSpace(ch)) {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  get(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private readonly escape: string;
  constructor(
    source: string,
    private readonly env: EnvLookup,
    private readonly opts: LexOptions,
  ) {
    this.chars = [...source];
    this.escape = opts.escape ?? '\\';
  }
  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  private next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  processStopOn(stop: string, rawEscapes: boolean): { word: string; words: string[] } {
    let result = '';
    const words = new Words();
    while (this.peek() !== EOF) {
      let ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { word: result, words: words.get() };
      }
      const quote = (ch === "'" || ch === '"') && this.opts.skipProcessQuotes !== true;
      if (quote || ch === '$') {
        const tmp = ch === "'" ? this.singleQuote() : ch === '"' ? this.doubleQuote() : this.dollar();
        result += tmp;
        if (ch === '$') words.addString(tmp);
        else words.addRawString(tmp);
        continue;
      }
      ch = this.next();
      if (ch === this.escape) {
        if (rawEscapes) {
          words.addRawChar(ch);
          result += ch;
        }
        ch = this.next();
        if (ch === EOF) break;
        words.addRawChar(ch);
      } else {
        words.addChar(ch);
      }
      result += ch;
    }
    if (stop !== EOF) throw new Error(`unexpected end of statement while looking for matching ${stop}`);
    return { word: result, words: words.get() };
  }

  private singleQuote(): string {
    let result = '';
    let ch = this.next();
    if (this.opts.rawQuotes === true) result += ch;
    for (;;) {
      ch = this.next();
      if (ch === EOF) throw new Error('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes === true) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private doubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes === true) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new Error('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const ch = this.next();
        if (this.opts.rawQuotes === true) result += ch;
        return result;
      }
      if (p === '$') {
        result += this.dollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.opts.rawEscapes === true) result += ch;
        const n = this.peek();
        if (n === EOF) continue;
        if (n === '"' || n === '$' || n === this.escape) ch = this.next();
      }
      result += ch;
    }
  }

  private name(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && '@*#?-$!0'.includes(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const value = this.env(name);
      if (value === undefined && this.opts.skipUnsetEnv === true) return '$' + name;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new Error("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Error('syntax error: bad substitution');
    const name = this.name();
    let ch = this.next();
    let chs = ch;
    let nullIsUnset = false;
    if (ch === EOF) throw new Error("syntax error: missing '}'");
    if (ch === '}') {
      const value = this.env(name);
      if (value === undefined && this.opts.skipUnsetEnv === true) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      chs += ch;
    }
    if (ch === '/' && !nullIsUnset) return this.replace(name);
    if (!['+', '-', '?', '#', '%'].includes(ch)) throw new Error(`unsupported modifier (${chs}) in substitution`);
    const rawEscapes = ch === '#' || ch === '%';
    if (nullIsUnset && rawEscapes) throw new Error(`unsupported modifier (${chs}) in substitution`);
    let word: string;
    try {
      word = this.processStopOn('}', rawEscapes).word;
    } catch (e) {
      if (this.peek() === EOF) throw new Error("syntax error: missing '}'", { cause: e });
      throw e;
    }
    const value = this.env(name);
    const set = value !== undefined;
    if (this.opts.skipUnsetEnv === true && !set) return `\${${name}${chs}${word}}`;
    const empty = !set || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return empty ? word : (value ?? '');
      case '+':
        return empty ? '' : word;
      case '?':
        if (!set) throw new Error(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new Error(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        return value;
      default: {
        let greedy = false;
        if (word.startsWith(ch)) {
          greedy = true;
          word = word.slice(1);
        }
        return ch === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
      }
    }
  }

  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.processStopOn('/', true).word;
    const replacement = this.processStopOn('}', true).word;
    const value = this.env(name);
    if (value === undefined && this.opts.skipUnsetEnv === true) return `\${${name}/${pattern}/${replacement}}`;
    const re = shellPatternToRegex(pattern, true, false, all ? 'g' : '');
    return (value ?? '').replace(re, () => replacement);
  }
}

/** A shell glob (`*`, `?`, `[...]`, `\x`) as a regular expression. */
function shellPatternToRegex(pattern: string, greedy: boolean, anchor: boolean | 'end', flags = ''): RegExp {
  let s = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] ?? '';
    if (ch === '*') s += greedy ? '.*' : '.*?';
    else if (ch === '?') s += '.';
    else if (ch === '[') {
      const end = chars.indexOf(']', i + 1);
      if (end < 0) s += '\\[';
      else {
        let cls = chars.slice(i + 1, end).join('');
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        s += '[' + cls.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (ch === '\\' && i + 1 < chars.length) {
      i++;
      s += escapeRegex(chars[i] ?? '');
    } else s += escapeRegex(ch);
  }
  if (anchor === 'end') return new RegExp(`(?:${s})$`, `su${flags}`);
  return new RegExp(anchor ? `^(?:${s})` : s, `su${flags}`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function trimPrefix(word: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegex(word, greedy, true);
  const m = re.exec(value);
  return m ? value.slice(m[0].length) : value;
}

function trimSuffix(word: string, value: string, greedy: boolean): string {
  // Shortest suffix: try the latest start first; longest: the earliest.
  const re = shellPatternToRegex(word, true, true);
  const n = value.length;
  for (let k = 0; k <= n; k++) {
    const start = greedy ? k : n - k;
    const rest = value.slice(start);
    const m = re.exec(rest);
    if (m && m[0].length === rest.length) return value.slice(0, start);
  }
  return value;
}

const noEnv: EnvLookup = () => undefined;

/** One word: quotes removed, variables expanded, no splitting (ENV values, WORKDIR, ...). */
export function processWord(word: string, env: EnvLookup = noEnv, opts: LexOptions = {}): string {
  return new ShellWord(word, env, opts).processStopOn(EOF, opts.rawEscapes === true).word;
}

/** Several words: split on unquoted spaces, including spaces that expansions bring (EXPOSE). */
export function processWords(word: string, env: EnvLookup = noEnv, opts: LexOptions = {}): string[] {
  return new ShellWord(word, env, opts).processStopOn(EOF, opts.rawEscapes === true).words;
}
