/**
 * The `${...}` grammar of the Compose Specification, as compose-go's `template` package reads
 * it: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
 * `${VAR:+replacement}`, `${VAR+replacement}`, defaults that nest further `${...}`, and `$$`
 * for a literal `$`. A `$` not followed by a name or `{` stays as it is. One function per
 * operator; errors are TscErrors without a location (the caller knows the key).
 */
import { TscError } from '../lib/errors.js';

/** The value of a variable, or undefined when it is not set at all. */
export type Lookup = (name: string) => string | undefined;

export interface SubstituteOptions {
  /** Called for each `$VAR` / `${VAR}` that is not set (docker compose warns and uses ""). */
  onUnset?: (name: string) => void;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Replace every variable reference in `template`. */
export function substitute(template: string, lookup: Lookup, options: SubstituteOptions = {}): string {
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const n = template[i + 1];
    if (n === '$') {
      out += '$';
      i += 2;
    } else if (n === '{') {
      const end = closingBrace(template, i + 2);
      if (end < 0) throw invalid(template);
      out += braced(template.slice(i + 2, end), template, lookup, options);
      i = end + 1;
    } else if (n !== undefined && NAME_START.test(n)) {
      let j = i + 1;
      while (j < template.length && NAME_CHAR.test(template[j] as string)) j++;
      out += plain(template.slice(i + 1, j), lookup, options);
      i = j;
    } else {
      out += '$';
      i++;
    }
  }
  return out;
}

/** The index of the `}` closing a `${` whose body starts at `from`, counting nested `${`. */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '$' && s[i + 1] === '$') i++;
    else if (c === '$' && s[i + 1] === '{') {
      depth++;
      i++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;
type Operator = (typeof OPERATORS)[number];

/** The body of `${...}`: a name, then optionally an operator and its argument. */
function braced(body: string, template: string, lookup: Lookup, options: SubstituteOptions): string {
  let j = 0;
  if (j >= body.length || !NAME_START.test(body[j] as string)) throw invalid(template);
  while (j < body.length && NAME_CHAR.test(body[j] as string)) j++;
  const name = body.slice(0, j);
  const rest = body.slice(j);
  if (rest === '') return plain(name, lookup, options);
  const op = OPERATORS.find((o) => rest.startsWith(o));
  if (op === undefined) throw invalid(template);
  const arg = rest.slice(op.length);
  return RULES[op](name, arg, lookup, options);
}

type Rule = (name: string, arg: string, lookup: Lookup, options: SubstituteOptions) => string;

const RULES: Record<Operator, Rule> = {
  ':-': defaultWhenEmptyOrUnset,
  '-': defaultWhenUnset,
  ':?': requiredErrorWhenEmptyOrUnset,
  '?': requiredErrorWhenUnset,
  ':+': replacementWhenSetAndNotEmpty,
  '+': replacementWhenSet,
};

function plain(name: string, lookup: Lookup, options: SubstituteOptions): string {
  const v = lookup(name);
  if (v === undefined) {
    options.onUnset?.(name);
    return '';
  }
  return v;
}

function defaultWhenEmptyOrUnset(name: string, arg: string, lookup: Lookup, options: SubstituteOptions): string {
  const v = lookup(name);
  return v === undefined || v === '' ? substitute(arg, lookup, options) : v;
}

function defaultWhenUnset(name: string, arg: string, lookup: Lookup, options: SubstituteOptions): string {
  const v = lookup(name);
  return v === undefined ? substitute(arg, lookup, options) : v;
}

function requiredErrorWhenEmptyOrUnset(name: string, arg: string, lookup: Lookup, options: SubstituteOptions): string {
  const v = lookup(name);
  if (v === undefined || v === '') throw required(name, substitute(arg, lookup, options));
  return v;
}

function requiredErrorWhenUnset(name: string, arg: string, lookup: Lookup, options: SubstituteOptions): string {
  const v = lookup(name);
  if (v === undefined) throw required(name, substitute(arg, lookup, options));
  return v;
}

function replacementWhenSetAndNotEmpty(name: string, arg: string, lookup: Lookup, options: SubstituteOptions): string {
  const v = lookup(name);
  return v === undefined || v === '' ? '' : substitute(arg, lookup, options);
}

function replacementWhenSet(name: string, arg: string, lookup: Lookup, options: SubstituteOptions): string {
  return lookup(name) === undefined ? '' : substitute(arg, lookup, options);
}

function required(name: string, message: string): TscError {
  const text = `required variable ${name} is missing a value`;
  return new TscError('ERR_COMPOSE_INTERPOLATION', message === '' ? text : `${text}: ${message}`);
}

function invalid(template: string): TscError {
  return new TscError('ERR_COMPOSE_INTERPOLATION', `invalid interpolation format in "${template}"`, {
    hint: 'you may need to escape any $ with another $ ($$)',
  });
}
