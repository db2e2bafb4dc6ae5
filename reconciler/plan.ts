/**
 * Convergence of one service, as docker compose does it (pkg/compose/convergence.go): given
 * the containers a service has and what it should have, the operations that make them equal.
 * Pure: the executor carries the ops out through AgentApi, in order.
 */
import type { ContainerStatus } from '../agent/api/types.js';

export interface ActualContainer {
  id: string;
  name: string;
  number: number;
  configHash: string;
  state: ContainerStatus;
}

export interface DesiredService {
  name: string;
  configHash: string;
  scale: number;
}

export type RecreatePolicy = 'diverged' | 'force' | 'never';

export interface PlanOptions {
  recreate: RecreatePolicy;
  /** `up --no-start`: create what is missing but start nothing. */
  noStart: boolean;
}

export type ServiceOp =
  | { op: 'create'; service: string; number: number; start: boolean }
  | { op: 'recreate'; service: string; number: number; replaces: string; start: boolean }
  | { op: 'start'; service: string; number: number; id: string }
  | { op: 'remove'; service: string; number: number; id: string }
  | { op: 'keep'; service: string; number: number; id: string };

function isRunning(s: ContainerStatus): boolean {
  return s === 'running' || s === 'restarting' || s === 'paused';
}

/**
 * The ops for one service. Containers past the scale go first (highest numbers, and those
 * whose config diverged, first: compose keeps the up-to-date ones); then each kept container
 * is recreated when its config hash diverged (or on `force`), started when it is not running,
 * or kept; then missing numbers are created, lowest first.
 */
export function planService(desired: DesiredService, actual: readonly ActualContainer[], opts: PlanOptions): ServiceOp[] {
  const ops: ServiceOp[] = [];
  const sorted = [...actual].sort((a, b) => {
    const da = a.configHash === desired.configHash ? 0 : 1;
    const db = b.configHash === desired.configHash ? 0 : 1;
    return da - db || a.number - b.number;
  });
  const kept = sorted.slice(0, desired.scale);
  for (const c of sorted.slice(desired.scale).sort((a, b) => b.number - a.number)) {
    ops.push({ op: 'remove', service: desired.name, number: c.number, id: c.id });
  }
  const start = !opts.noStart;
  for (const c of [...kept].sort((a, b) => a.number - b.number)) {
    const diverged = c.configHash !== desired.configHash;
    if (opts.recreate === 'force' || (opts.recreate === 'diverged' && diverged)) {
      ops.push({ op: 'recreate', service: desired.name, number: c.number, replaces: c.id, start });
    } else if (start && !isRunning(c.state)) {
      ops.push({ op: 'start', service: desired.name, number: c.number, id: c.id });
    } else {
      ops.push({ op: 'keep', service: desired.name, number: c.number, id: c.id });
    }
  }
  const used = new Set(kept.map((c) => c.number));
  for (let n = 1, missing = desired.scale - kept.length; missing > 0; n++) {
    if (used.has(n)) continue;
    ops.push({ op: 'create', service: desired.name, number: n, start });
    missing--;
  }
  return ops;
}
