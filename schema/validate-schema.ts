/**
 * Validate one file's interpolated tree against the Compose JSON Schema (`compose-spec.json`,
 * written here after the Compose Specification's schema), before merge, as compose-go does.
 *
 * Interpolation leaves `${VAR}` values as strings, so the schema accepts a string wherever
 * compose-go's interpolation would type-cast one (ports, cpus, replicas, booleans, ...); the
 * canonical phase then casts them and reports a value that is not a number, a boolean, a size
 * or a duration at its own key. Unknown keys are errors except `x-*`; `version` is allowed.
 *
 * ajv reports every failing branch of every `oneOf`; users want one sentence. We keep the
 * deepest error (the most specific key), prefer a key that is not allowed or missing over a type
 * mismatch, and join type mismatches at the same key ("must be a string or a list"), the way
 * compose-go picks its most specific error. Messages read like compose-go's:
 * `compose.yaml:3:5 services.web: Additional property foo is not allowed`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';

import { loadWithCodeCache } from '../lib/code-cached-module.js';
import { TscError } from '../lib/errors.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import type { PositionTable } from './positions.js';
import { next } from './tree-path.js';

let compiled: ValidateFunction | undefined;

/** The validator `npm run build` precompiled (precompile-schema.ts), if this is the built tree. */
function precompiled(): ValidateFunction | undefined {
  const file = fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url));
  if (!existsSync(file)) return undefined;
  const mod = loadWithCodeCache(file, { cacheFile: fileURLToPath(new URL(`./${PRECOMPILED_CACHE}`, import.meta.url)) }).exports as
    | ValidateFunction
    | { default: ValidateFunction };
  return typeof mod === 'function' ? mod : mod.default;
}

/** The precompiled validator and its V8 code cache, beside the built validate-schema.js. */
export const PRECOMPILED_FILE = 'compose-spec-validate.cjs';
export const PRECOMPILED_CACHE = 'compose-spec-validate.cache';

/**
 * The validator: the precompiled one, else (the source tree) ajv compiling the schema. Both
 * are loaded on first use with `require`: ajv and the schema cost ~30 ms to load, and the
 * built tree never needs them.
 */
function validator(): ValidateFunction {
  if (compiled === undefined) {
    compiled = precompiled();
    if (compiled === undefined) {
      const require = createRequire(import.meta.url);
      const { Ajv } = require('ajv') as { Ajv: typeof AjvClass };
      compiled = new Ajv({ allErrors: true, strict: false }).compile(require('./compose-spec.json') as object);
    }
  }
  return compiled;
}

export function validateSchema(tree: ComposeTree, ctx: PhaseContext): ComposeTree {
  const validate = validator();
  if (validate(tree)) return tree;
  throw schemaError(validate.errors ?? [], tree, ctx.positions);
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
};

/** A JSON pointer into `tree` as a key path (`/services/web/ports/1` → `services.web.ports[1]`). */
function pointerToPath(pointer: string, tree: unknown): string {
  if (pointer === '') return '';
  let path = '';
  let node: unknown = tree;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const i = Number(key);
      path = next(path, i);
      node = node[i];
    } else {
      path = next(path, key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

function depth(e: ErrorObject): number {
  return e.instancePath === '' ? 0 : e.instancePath.split('/').length;
}

const RANK: Record<string, number> = { additionalProperties: 0, required: 1, enum: 2, const: 2, pattern: 3, type: 9 };
const rank = (e: ErrorObject): number => RANK[e.keyword] ?? 5;

function pickError(errors: ErrorObject[]): ErrorObject[] {
  const concrete = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  const pool = concrete.length > 0 ? concrete : errors;
  const deepest = Math.max(...pool.map(depth));
  const atDeepest = pool.filter((e) => depth(e) === deepest);
  const best = Math.min(...atDeepest.map(rank));
  const chosen = atDeepest.filter((e) => rank(e) === best);
  const first = chosen[0] as ErrorObject;
  return chosen.filter((e) => e.instancePath === first.instancePath && e.keyword === first.keyword);
}

function schemaError(errors: ErrorObject[], tree: unknown, positions: PositionTable): TscError {
  if (errors.length === 0) return positions.error('ERR_COMPOSE_SCHEMA', 'does not match the Compose schema', '');
  const chosen = pickError(errors);
  const e = chosen[0] as ErrorObject;
  const path = pointerToPath(e.instancePath, tree);
  let message: string;
  let locate = path;
  switch (e.keyword) {
    case 'additionalProperties': {
      const prop = String((e.params as { additionalProperty: string }).additionalProperty);
      message = `Additional property ${prop} is not allowed`;
      locate = next(path, prop);
      break;
    }
    case 'required':
      message = `${String((e.params as { missingProperty: string }).missingProperty)} is required`;
      break;
    case 'type': {
      const types = new Set<string>();
      for (const c of chosen) {
        const t = (c.params as { type: string | string[] }).type;
        for (const one of Array.isArray(t) ? t : [t]) types.add(TYPE_NAMES[one] ?? one);
      }
      message = `must be ${[...types].join(' or ')}`;
      break;
    }
    case 'enum':
      message = `must be one of the following: ${((e.params as { allowedValues: unknown[] }).allowedValues ?? [])
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
      break;
    case 'pattern':
      message = `Does not match pattern '${String((e.params as { pattern: string }).pattern)}'`;
      break;
    case 'uniqueItems': {
      const { i: a, j: b } = e.params as { i: number; j: number };
      const i = Math.max(a, b); // the later copy is the duplicate
      message = `contains duplicate items: ${JSON.stringify(itemAt(tree, e.instancePath, i))}`;
      locate = next(path, i);
      break;
    }
    default:
      message = e.message ?? 'does not match the Compose schema';
  }
  const pos = positions.nearest(locate);
  return new TscError('ERR_COMPOSE_SCHEMA', message, {
    file: pos?.file ?? positions.defaultFile,
    line: pos?.line,
    col: pos?.col,
    path: path === '' ? '(root)' : path,
  });
}

function itemAt(tree: unknown, pointer: string, i: number): unknown {
  let node: unknown = tree;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return Array.isArray(node) ? node[i] : undefined;
}
