/**
 * Interpolation: substitute `${...}` in every string value of one file's tree (keys are left
 * alone, as in compose-go). Values stay strings, except where the Compose Specification wants a
 * number or a boolean and the value came from a variable: those are cast back, as compose-go's
 * `interpolateTypeCastMapping` does (`retries: ${RETRIES}` is the integer 3, not "3").
 */
import { TscError } from '../lib/errors.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { setKey } from './parse.js';
import { substitute, type Lookup } from './template.js';
import { compilePattern, findRule } from './path-pattern.js';
import { next } from './tree-path.js';

export interface InterpolateOptions {
  /** Called once per variable that is used without a value (docker compose prints a warning). */
  onUnset?: (name: string, path: string) => void;
}

type Cast = (value: string) => unknown;

const toInt: Cast = (v) => (/^[+-]?\d+$/.test(v.trim()) ? Number.parseInt(v, 10) : undefined);
const toFloat: Cast = (v) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const toBool: Cast = (v) => {
  const s = v.trim().toLowerCase();
  if (['true', 'yes', 'y', 'on', '1'].includes(s)) return true;
  if (['false', 'no', 'n', 'off', '0'].includes(s)) return false;
  return undefined;
};

/** Paths whose interpolated value must be typed, and how (compose-go `interpolation.go`). */
const CASTS: ReadonlyArray<[string, Cast, string]> = [
  ['services.*.configs[].mode', toInt, 'an integer'],
  ['services.*.secrets[].mode', toInt, 'an integer'],
  ['services.*.cpu_count', toInt, 'an integer'],
  ['services.*.cpu_percent', toFloat, 'a number'],
  ['services.*.cpu_period', toInt, 'an integer'],
  ['services.*.cpu_quota', toInt, 'an integer'],
  ['services.*.cpu_rt_period', toInt, 'an integer'],
  ['services.*.cpu_rt_runtime', toInt, 'an integer'],
  ['services.*.cpus', toFloat, 'a number'],
  ['services.*.cpu_shares', toInt, 'an integer'],
  ['services.*.init', toBool, 'a boolean'],
  ['services.*.deploy.replicas', toInt, 'an integer'],
  ['services.*.deploy.update_config.parallelism', toInt, 'an integer'],
  ['services.*.deploy.update_config.max_failure_ratio', toFloat, 'a number'],
  ['services.*.deploy.rollback_config.parallelism', toInt, 'an integer'],
  ['services.*.deploy.rollback_config.max_failure_ratio', toFloat, 'a number'],
  ['services.*.deploy.restart_policy.max_attempts', toInt, 'an integer'],
  ['services.*.deploy.placement.max_replicas_per_node', toInt, 'an integer'],
  ['services.*.healthcheck.retries', toInt, 'an integer'],
  ['services.*.healthcheck.disable', toBool, 'a boolean'],
  ['services.*.oom_kill_disable', toBool, 'a boolean'],
  ['services.*.oom_score_adj', toInt, 'an integer'],
  ['services.*.pids_limit', toInt, 'an integer'],
  ['services.*.ports[].target', toInt, 'an integer'],
  ['services.*.privileged', toBool, 'a boolean'],
  ['services.*.read_only', toBool, 'a boolean'],
  ['services.*.scale', toInt, 'an integer'],
  ['services.*.stdin_open', toBool, 'a boolean'],
  ['services.*.tty', toBool, 'a boolean'],
  ['services.*.ulimits.*', toInt, 'an integer'],
  ['services.*.ulimits.*.hard', toInt, 'an integer'],
  ['services.*.ulimits.*.soft', toInt, 'an integer'],
  ['services.*.volumes[].read_only', toBool, 'a boolean'],
  ['services.*.volumes[].volume.nocopy', toBool, 'a boolean'],
  ['networks.*.external', toBool, 'a boolean'],
  ['networks.*.internal', toBool, 'a boolean'],
  ['networks.*.attachable', toBool, 'a boolean'],
  ['networks.*.enable_ipv6', toBool, 'a boolean'],
  ['volumes.*.external', toBool, 'a boolean'],
  ['secrets.*.external', toBool, 'a boolean'],
  ['configs.*.external', toBool, 'a boolean'],
];

const COMPILED_CASTS = CASTS.map(([pattern, fn, expected]) => [compilePattern(pattern), { fn, expected }] as const);

/** The tree with every string value interpolated from `ctx.environment`. */
export function interpolate(tree: ComposeTree, ctx: PhaseContext, options: InterpolateOptions = {}): ComposeTree {
  const env = ctx.environment;
  const lookup: Lookup = (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
  const walk = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') return interpolateString(value, path);
    if (Array.isArray(value)) return value.map((v, i) => walk(v, next(path, i)));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) setKey(out, k, walk(v, next(path, k)));
      return out;
    }
    return value;
  };
  const interpolateString = (value: string, path: string): unknown => {
    if (!value.includes('$')) return value;
    let result: string;
    try {
      result = substitute(value, lookup, { onUnset: (name) => options.onUnset?.(name, path) });
    } catch (e) {
      if (e instanceof TscError) {
        throw ctx.positions.error(e.code, e.message, path, { hint: e.hint });
      }
      throw e;
    }
    return cast(result, path);
  };
  const cast = (value: string, path: string): unknown => {
    const rule = findRule(COMPILED_CASTS, path);
    if (rule === undefined) return value;
    const typed = rule.fn(value);
    if (typed === undefined) {
      throw ctx.positions.error('ERR_COMPOSE_INTERPOLATION', `expected ${rule.expected}, got "${value}" after interpolation`, path);
    }
    return typed;
  };
  return walk(tree, '') as ComposeTree;
}
