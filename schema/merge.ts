/**
 * Merge an override file into the tree of the files before it, with the Compose
 * Specification's rules (compose-go `override/merge.go` and `override/uncity.go`):
 * mappings merge key by key, scalars are replaced, sequences are appended, and the sequences
 * that name things (ports, volumes, secrets, dns, ...) are de-duplicated by their key, a later
 * entry taking the place of an earlier one. `command`, `entrypoint` and `healthcheck.test` are
 * replaced; `environment`, `labels` and the like merge as maps whatever their syntax; `!reset`
 * removes what the earlier files said, `!override` replaces it whole. `x-*` keys are replaced.
 *
 * Rules are a table from path pattern to a small function; the first matching row applies.
 * The position table is carried along so that every value keeps the position of the file it
 * came from.
 */
import type { MergeTag } from './parse.js';
import { setKey } from './parse.js';
import type { ComposeTree } from './phase.js';
import { PositionTable } from './positions.js';
import { compilePattern, stepsMatch, type CompiledPattern, type Step } from './path-pattern.js';
import { next, steps } from './tree-path.js';

export interface MergeInput {
  tree: ComposeTree;
  positions: PositionTable;
  tags?: ReadonlyMap<string, MergeTag>;
}

export interface MergeResult {
  tree: ComposeTree;
  positions: PositionTable;
}

type Mapping = Record<string, unknown>;

interface Ctx {
  out: PositionTable;
  from: PositionTable;
  tags: ReadonlyMap<string, MergeTag>;
  hasReset: boolean;
}

/** Where a value is: its path in the result and in the override, and the steps of the former. */
interface Where {
  p: string;
  q: string;
  steps: Step[];
}

type Merger = (base: unknown, over: unknown, at: Where, ctx: Ctx) => unknown;
type Indexer = (item: unknown) => string;

/** Merge `override` into `base`; neither input is changed. */
export function mergeTrees(base: MergeInput, override: MergeInput): MergeResult {
  // the base's positions stand unless the override sets its own; the base is not used again
  const out = new PositionTable(base.positions.defaultFile, base.positions);
  const tags = override.tags ?? new Map<string, MergeTag>();
  const ctx: Ctx = { out, from: override.positions, tags, hasReset: [...tags.values()].includes('reset') };
  let start = base.tree;
  for (const [path, tag] of tags) if (tag === 'reset') start = withoutPath(start, steps(path)) as ComposeTree;
  const tree = mergeMappings(start, override.tree, { p: '', q: '', steps: [] }, ctx) as ComposeTree;
  return { tree, positions: out };
}

/** `value` without the key at `path` (copies along the path; indexes are followed too). */
function withoutPath(value: unknown, path: ReadonlyArray<string | number>): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (typeof head === 'number') {
    if (!Array.isArray(value) || head >= value.length) return value;
    if (rest.length === 0) return value.filter((_, i) => i !== head);
    const copy = [...value];
    copy[head] = withoutPath(value[head], rest);
    return copy;
  }
  if (!isMapping(value) || !Object.hasOwn(value, head)) return value;
  const out: Mapping = {};
  for (const [k, v] of Object.entries(value)) {
    if (k !== head) setKey(out, k, v);
    else if (rest.length > 0) setKey(out, k, withoutPath(v, rest));
  }
  return out;
}

/** The tree of a single file: `!reset` keys dropped, as if merged onto nothing. */
export function applyResetTags(input: MergeInput): ComposeTree {
  if (input.tags === undefined || input.tags.size === 0) return input.tree;
  return mergeTrees({ tree: {}, positions: new PositionTable(input.positions.defaultFile) }, input).tree;
}

// ---- the rules -------------------------------------------------------------------------------

const override: Merger = (_base, over, at, ctx) => take(over, at, ctx);

const RULES: ReadonlyArray<[string, Merger]> = [
  ['services.*.command', override],
  ['services.*.entrypoint', override],
  ['services.*.healthcheck.test', override],
  ['services.*.build', mergeBuild],
  ['services.*.build.args', mergeAsMapping],
  ['services.*.build.labels', mergeAsMapping],
  ['services.*.build.additional_contexts', mergeAsMapping],
  ['services.*.build.extra_hosts', mergeExtraHosts],
  ['services.*.depends_on', mergeDependsOn],
  ['services.*.networks', mergeNetworks],
  ['services.*.environment', mergeAsMapping],
  ['services.*.labels', mergeAsMapping],
  ['services.*.annotations', mergeAsMapping],
  ['services.*.sysctls', mergeAsMapping],
  ['services.*.deploy.labels', mergeAsMapping],
  ['services.*.volumes[].volume.labels', mergeAsMapping],
  ['services.*.extra_hosts', mergeExtraHosts],
  ['services.*.logging', mergeLogging],
  ['services.*.ulimits.*', mergeUlimit],
  ['services.*.dns', mergeAsSequence],
  ['services.*.dns_opt', mergeAsSequence],
  ['services.*.dns_search', mergeAsSequence],
  ['services.*.env_file', mergeAsSequence],
  ['services.*.label_file', mergeAsSequence],
  ['services.*.tmpfs', mergeAsSequence],
  ['networks.*.labels', mergeAsMapping],
  ['networks.*.ipam.config', mergeIpamConfig],
  ['volumes.*.labels', mergeAsMapping],
];

const keyValue: Indexer = (item) => (typeof item === 'string' ? (item.split('=')[0] ?? item) : JSON.stringify(item));
const asString: Indexer = (item) => (typeof item === 'string' ? item : JSON.stringify(item));

const port: Indexer = (item) => {
  if (isMapping(item)) {
    const host = item.host_ip ?? '0.0.0.0';
    return `${String(host)}:${String(item.published ?? '')}:${String(item.target)}/${String(item.protocol ?? 'tcp')}`;
  }
  return String(item);
};

const volume: Indexer = (item) => {
  if (isMapping(item)) return String(item.target);
  if (typeof item !== 'string') return JSON.stringify(item);
  const parts = item.split(':');
  return parts.length === 1 ? item : (parts[1] ?? item);
};

const mount =
  (dir: string): Indexer =>
  (item) => {
    if (isMapping(item)) return String(item.target ?? `${dir}/${String(item.source)}`);
    return `${dir}/${String(item)}`;
  };

const envFile: Indexer = (item) => (isMapping(item) ? String(item.path) : String(item));

/** Sequences whose items are unique by a key (a later item takes the earlier one's place). */
const UNIQUE: ReadonlyArray<[string, Indexer]> = [
  ['services.*.ports', port],
  ['services.*.volumes', volume],
  ['services.*.devices', volume],
  ['services.*.secrets', mount('/run/secrets')],
  ['services.*.configs', mount('')],
  ['services.*.expose', asString],
  ['services.*.env_file', envFile],
  ['services.*.label_file', asString],
  ['services.*.cap_add', asString],
  ['services.*.cap_drop', asString],
  ['services.*.dns', asString],
  ['services.*.dns_opt', asString],
  ['services.*.dns_search', asString],
  ['services.*.tmpfs', asString],
  ['services.*.links', asString],
  ['services.*.profiles', asString],
  ['services.*.networks.*.aliases', asString],
  ['services.*.networks.*.link_local_ips', asString],
  ['services.*.build.tags', asString],
  ['services.*.build.platforms', asString],
  ['services.*.environment', keyValue],
  ['services.*.labels', keyValue],
  ['services.*.sysctls', keyValue],
];

// ---- the walker ------------------------------------------------------------------------------

const COMPILED_RULES = RULES.map(([pattern, fn]) => [compilePattern(pattern), fn] as const);
const COMPILED_UNIQUE = UNIQUE.map(([pattern, fn]) => [compilePattern(pattern), fn] as const);

/**
 * The rules by the last step of their pattern (a key), and those ending in `*` or `[]`: a merge
 * looks up one rule per key of the override, and most keys end no pattern.
 */
const RULES_BY_LAST = new Map<Step, Array<{ row: number; pattern: CompiledPattern; fn: Merger }>>();
const RULES_ANY_LAST: Array<{ row: number; pattern: CompiledPattern; fn: Merger }> = [];
COMPILED_RULES.forEach(([pattern, fn], row) => {
  const last = pattern[pattern.length - 1] as Step;
  if (last === '*' || last === -1) RULES_ANY_LAST.push({ row, pattern, fn });
  else RULES_BY_LAST.set(last, [...(RULES_BY_LAST.get(last) ?? []), { row, pattern, fn }]);
});

/** The first rule (in table order) whose pattern matches `steps`. */
function ruleFor(steps: readonly Step[]): Merger | undefined {
  let best: { row: number; fn: Merger } | undefined;
  const byLast = RULES_BY_LAST.get(steps[steps.length - 1] as Step);
  if (byLast !== undefined) {
    for (const r of byLast) {
      if (stepsMatch(steps, r.pattern)) {
        best = r;
        break;
      }
    }
  }
  for (const r of RULES_ANY_LAST) {
    if (best !== undefined && r.row > best.row) break;
    if (stepsMatch(steps, r.pattern)) {
      best = r;
      break;
    }
  }
  return best?.fn;
}

function mergeValue(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  const fn = ruleFor(at.steps);
  if (fn !== undefined) return over === null || over === undefined ? base : fn(base, over, at, ctx);
  if (over === null || over === undefined) return base;
  if (isMapping(base) && isMapping(over)) return mergeMappings(base, over, at, ctx);
  if (Array.isArray(base) && Array.isArray(over)) return appendSequence(base, over, at, ctx);
  return take(over, at, ctx);
}

function mergeMappings(base: Mapping, over: Mapping, at: Where, ctx: Ctx): Mapping {
  const out: Mapping = {};
  for (const [k, v] of Object.entries(base)) setKey(out, k, v);
  for (const [k, v] of Object.entries(over)) {
    const child: Where = { p: next(at.p, k), q: next(at.q, k), steps: [...at.steps, k] };
    const tag = ctx.tags.get(child.q);
    if (tag === 'reset') {
      delete out[k];
      continue;
    }
    if (tag === 'override' || !Object.hasOwn(out, k) || k.startsWith('x-')) {
      setKey(out, k, take(v, child, ctx));
      continue;
    }
    setKey(out, k, mergeValue(out[k], v, child, ctx));
  }
  return out;
}

/** Append `over` to `base`, replacing in place the items whose key is already there. */
function appendSequence(base: unknown[], over: unknown[], at: Where, ctx: Ctx, unique?: Indexer): unknown[] {
  const indexer = unique ?? COMPILED_UNIQUE.find(([pattern]) => stepsMatch(at.steps, pattern))?.[1];
  const out = [...base];
  const index = new Map<string, number>();
  if (indexer !== undefined) base.forEach((item, i) => index.set(indexer(item), i));
  over.forEach((item, j) => {
    const key = indexer?.(item);
    const existing = key === undefined ? undefined : index.get(key);
    const i = existing ?? out.length;
    copyPositions(item, next(at.q, j), next(at.p, i), ctx);
    if (existing === undefined) {
      out.push(item);
      if (key !== undefined) index.set(key, i);
    } else out[i] = item;
  });
  return out;
}

/** The override's value as it is, bringing its positions along. */
function take(value: unknown, at: Where, ctx: Ctx): unknown {
  copyPositions(value, at.q, at.p, ctx);
  return ctx.hasReset ? withoutResets(value, at.q, ctx) : value;
}

/** `value` without the keys a `!reset` tag cleared (they have nothing to reset here). */
function withoutResets(value: unknown, q: string, ctx: Ctx): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withoutResets(v, next(q, i), ctx));
  if (!isMapping(value)) return value;
  const out: Mapping = {};
  for (const [k, v] of Object.entries(value)) {
    const child = next(q, k);
    if (ctx.tags.get(child) !== 'reset') setKey(out, k, withoutResets(v, child, ctx));
  }
  return out;
}

function copyPositions(value: unknown, q: string, p: string, ctx: Ctx): void {
  const pos = ctx.from.get(q);
  if (pos !== undefined) ctx.out.set(p, pos);
  if (Array.isArray(value)) value.forEach((v, i) => copyPositions(v, next(q, i), next(p, i), ctx));
  else if (isMapping(value)) for (const [k, v] of Object.entries(value)) copyPositions(v, next(q, k), next(p, k), ctx);
}

// ---- the special mergers ---------------------------------------------------------------------

/** `build: ./dir` is `build: {context: ./dir}`. */
function mergeBuild(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  const toBuild = (v: unknown): unknown => (typeof v === 'string' ? { context: v } : v);
  const b = toBuild(base);
  const o = toBuild(over);
  if (isMapping(b) && isMapping(o)) return mergeMappings(b, o, at, ctx);
  return take(over, at, ctx);
}

/**
 * environment, labels and the like: `[K=V]` and `{K: V}` are the same thing; keys merge, and
 * an override's `K` without a value (null) replaces the earlier value, as `- K` would.
 */
function mergeAsMapping(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  if (Array.isArray(base) && Array.isArray(over)) return appendSequence(base, over, at, ctx);
  const b = toMapping(base);
  const o = toMapping(over);
  if (b === undefined || o === undefined) return take(over, at, ctx);
  const out: Mapping = {};
  for (const [k, v] of Object.entries(b)) setKey(out, k, v);
  Object.entries(o).forEach(([k, v], j) => {
    const p = next(at.p, k);
    const q = Array.isArray(over) ? next(at.q, j) : next(at.q, k);
    if (ctx.tags.get(q) === 'reset') {
      delete out[k];
      return;
    }
    const pos = ctx.from.get(q);
    if (pos !== undefined) ctx.out.set(p, pos);
    setKey(out, k, v);
  });
  return out;
}

/** dns, tmpfs, env_file...: a single string is a one-item sequence. */
function mergeAsSequence(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  const seq = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
  return appendSequence(seq(base), seq(over), at, ctx);
}

/** Short-syntax depends_on is `{service: {condition: service_started, required: true}}`. */
function mergeDependsOn(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  const long = (v: unknown): unknown =>
    Array.isArray(v) ? Object.fromEntries(v.map((s) => [String(s), { condition: 'service_started', required: true }])) : v;
  const b = long(base);
  const o = long(over);
  if (isMapping(b) && isMapping(o)) return mergeMappings(b, o, at, ctx);
  return take(over, at, ctx);
}

/** A service's networks: `[a, b]` is `{a: null, b: null}`. */
function mergeNetworks(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  const map = (v: unknown): unknown => (Array.isArray(v) ? Object.fromEntries(v.map((s) => [String(s), null])) : v);
  const b = map(base);
  const o = map(over);
  if (isMapping(b) && isMapping(o)) return mergeMappings(b, o, at, ctx);
  return take(over, at, ctx);
}

/** extra_hosts: union of both, in order, each entry once. */
function mergeExtraHosts(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  const seq = (v: unknown): unknown[] =>
    Array.isArray(v) ? v : isMapping(v) ? Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).sort() : [v];
  return appendSequence(seq(base), seq(over), at, ctx, asString);
}

/** Logging options merge only when both files name the same driver (or one names none). */
function mergeLogging(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  if (!isMapping(base) || !isMapping(over)) return take(over, at, ctx);
  if (base.driver === undefined || over.driver === undefined || base.driver === over.driver) {
    return mergeMappings(base, over, at, ctx);
  }
  return take(over, at, ctx);
}

function mergeUlimit(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  if (isMapping(base) && isMapping(over)) return mergeMappings(base, over, at, ctx);
  return take(over, at, ctx);
}

/** IPAM pools are keyed by subnet. */
function mergeIpamConfig(base: unknown, over: unknown, at: Where, ctx: Ctx): unknown {
  if (!Array.isArray(base) || !Array.isArray(over)) return take(over, at, ctx);
  const out = [...base];
  over.forEach((item, j) => {
    const i = out.findIndex((b) => isMapping(b) && isMapping(item) && b.subnet === item.subnet);
    const child: Where = { p: next(at.p, i < 0 ? out.length : i), q: next(at.q, j), steps: [...at.steps, 0] };
    if (i < 0) out.push(take(item, child, ctx));
    else out[i] = isMapping(item) ? mergeMappings(out[i] as Mapping, item, child, ctx) : take(item, child, ctx);
  });
  return out;
}

// ---- helpers ---------------------------------------------------------------------------------

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `[K=V, K2]` → `{K: V, K2: null}`; a mapping as it is. */
function toMapping(v: unknown): Mapping | undefined {
  if (isMapping(v)) return v;
  if (!Array.isArray(v)) return undefined;
  const out: Mapping = {};
  for (const item of v) {
    const s = String(item);
    const eq = s.indexOf('=');
    if (eq < 0) setKey(out, s, null);
    else setKey(out, s.slice(0, eq), s.slice(eq + 1));
  }
  return out;
}
