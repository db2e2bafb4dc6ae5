/**
 * Interpolation: substitute `${...}` in every string value of one file's tree (keys are left
 * alone, as in compose-go). Values stay strings, except where the Compose Specification wants a
 * number or a boolean and the value came from a variable: those are cast back, as compose-go's
 * `interpolateTypeCastMapping` does (`retries: ${RETRIES}` is the integer 3, not "3").
 */
import { TscError } from '../lib/errors.js';
import { isDuration } from '../lib/units.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { setKey } from './parse.js';
import { substitute, type Lookup } from './template.js';
import { RuleTable, type Step } from './path-pattern.js';
import { next } from './tree-path.js';

export interface InterpolateOptions {
  /** Called once per variable that is used without a value (docker compose prints a warning). */
  onUnset?: (name: string, path: string) => void;
}

type Cast = (value: string) => unknown;

const toInt: Cast = (v) => (/^[+-]?\d+$/.test(v.trim()) ? Number.parseInt(v, 10) : undefined);
const toFloat: Cast = (v) => (v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
/** Microseconds, or a duration (`cpu_rt_runtime: ${RT}` with RT=400ms): the canonical phase converts it. */
const toMicroseconds: Cast = (v) => (/^[+-]?\d+$/.test(v.trim()) ? Number.parseInt(v, 10) : isDuration(v.trim()) ? v : undefined);
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
  ['services.*.cpu_rt_period', toMicroseconds, 'an integer or a duration'],
  ['services.*.cpu_rt_runtime', toMicroseconds, 'an integer or a duration'],
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

const CAST_RULES = new RuleTable(CASTS.map(([pattern, fn, expected]) => [pattern, { fn, expected }] as const));

/**
 * The tree with every string value interpolated from `ctx.environment`. Mappings and sequences
 * with nothing to interpolate come back as they are (the input is never edited), and a value's
 * path is only written out for a string that has a `$`: large projects are mostly plain.
 */
export function interpolate(tree: ComposeTree, ctx: PhaseContext, options: InterpolateOptions = {}): ComposeTree {
  const env = ctx.environment;
  const lookup: Lookup = (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
  const stack: Step[] = [];
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes('$') ? interpolateString(value) : value;
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        let r = v;
        // strings without `$` and other scalars are what most trees hold: no step for them
        if (v !== null && (typeof v === 'object' || (typeof v === 'string' && v.includes('$')))) {
          stack.push(i);
          r = walk(v);
          stack.pop();
        }
        if (r !== v && out === undefined) out = value.slice(0, i);
        if (out !== undefined) out.push(r);
      }
      return out ?? value;
    }
    if (value !== null && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      let out: Record<string, unknown> | undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const v = obj[k];
        let r = v;
        if (v !== null && (typeof v === 'object' || (typeof v === 'string' && v.includes('$')))) {
          stack.push(k);
          r = walk(v);
          stack.pop();
        }
        if (r !== v && out === undefined) {
          out = {};
          for (let j = 0; j < i; j++) setKey(out, keys[j] as string, obj[keys[j] as string]);
        }
        if (out !== undefined) setKey(out, k, r);
      }
      return out ?? value;
    }
    return value;
  };
  // The value's path, spelled out only for a message (most values never need it).
  const pathText = (): string => stack.reduce<string>((p, k) => next(p, k), '');
  const interpolateString = (value: string): unknown => {
    let result: string;
    try {
      result = substitute(value, lookup, { onUnset: (name) => options.onUnset?.(name, pathText()) });
    } catch (e) {
      if (e instanceof TscError) {
        throw ctx.positions.error(e.code, e.message, pathText(), { hint: e.hint });
      }
      throw e;
    }
    return cast(result);
  };
  const cast = (value: string): unknown => {
    const rule = CAST_RULES.find(stack);
    if (rule === undefined) return value;
    const typed = rule.fn(value);
    if (typed === undefined) {
      throw ctx.positions.error('ERR_COMPOSE_INTERPOLATION', `expected ${rule.expected}, got "${value}" after interpolation`, pathText());
    }
    return typed;
  };
  return walk(tree) as ComposeTree;
}
