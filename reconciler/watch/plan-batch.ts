/**
 * One batch of changed host paths → what to do per service, in docker compose's terms:
 * a rebuild replaces everything else for its service (the new container gets the files from
 * the image and a re-sync); otherwise the files to sync (each host path once, in the order
 * seen), then a restart if a `restart` or `sync+restart` rule fired, then the `exec` hooks of
 * the `sync+exec` rules that fired.
 */
import type { FileSync } from '../../agent/api/types.js';
import type { ServiceHook } from '../../schema/project.js';
import { ruleTakes, type CompiledRule } from './watch-rules.js';

export interface ChangedPath {
  path: string;
  /** The watcher saw a directory (addDir/unlinkDir). */
  isDir?: boolean;
}

export interface ServiceActions {
  service: string;
  /** Distinct host paths of this batch that concern the service. */
  changes: number;
  rebuild: boolean;
  /** Host path → container path, to mirror (the agent writes, makes or deletes). */
  sync: FileSync[];
  restart: boolean;
  exec: ServiceHook[];
}

export function planBatch(rules: readonly CompiledRule[], batch: readonly ChangedPath[]): ServiceActions[] {
  const out = new Map<string, ServiceActions & { seen: Set<string>; targets: Map<string, number>; rules: Set<CompiledRule> }>();
  for (const change of batch) {
    for (const rule of rules) {
      const took = ruleTakes(rule, change.path, change.isDir === true);
      if (took === undefined) continue;
      let s = out.get(rule.service);
      if (s === undefined) {
        s = { service: rule.service, changes: 0, rebuild: false, sync: [], restart: false, exec: [], seen: new Set(), targets: new Map(), rules: new Set() };
        out.set(rule.service, s);
      }
      if (!s.seen.has(change.path)) {
        s.seen.add(change.path);
        s.changes++;
      }
      s.rules.add(rule);
      if (rule.action === 'rebuild') s.rebuild = true;
      if (rule.action === 'restart' || rule.action === 'sync+restart') s.restart = true;
      if (took.containerPath !== undefined) {
        // The last event of a path wins its place: a delete then re-create syncs once, late.
        const prev = s.targets.get(took.containerPath);
        if (prev !== undefined) s.sync[prev] = { source: '', target: '' };
        s.targets.set(took.containerPath, s.sync.length);
        s.sync.push({ source: change.path, target: took.containerPath });
      }
    }
  }
  return [...out.values()].map((s) => {
    const sync = s.rebuild ? [] : s.sync.filter((f) => f.target !== '');
    const exec = s.rebuild ? [] : [...s.rules].filter((r) => r.action === 'sync+exec' && r.exec !== undefined).map((r) => r.exec as ServiceHook);
    return { service: s.service, changes: s.changes, rebuild: s.rebuild, sync, restart: !s.rebuild && s.restart, exec };
  });
}
