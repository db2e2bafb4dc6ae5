/**
 * Dependency order for `up` (dependencies first) and `down` (dependents first), with the
 * services that can go in parallel. A cycle is the loader's error to report; here it is an
 * invariant break.
 */
import type { DesiredServiceSpec } from './desired.js';

/** Every service with the names it waits for, restricted to services in the set. */
export function dependencies(services: readonly DesiredServiceSpec[]): Map<string, string[]> {
  const names = new Set(services.map((s) => s.name));
  return new Map(services.map((s) => [s.name, s.dependsOn.map((d) => d.service).filter((n) => names.has(n))]));
}

/** Dependents of each service (the reverse edges). */
export function dependents(services: readonly DesiredServiceSpec[]): Map<string, string[]> {
  const out = new Map<string, string[]>(services.map((s) => [s.name, []]));
  for (const [svc, deps] of dependencies(services)) for (const d of deps) out.get(d)?.push(svc);
  return out;
}

/** Levels: every service of a level depends only on services of earlier levels. */
export function levels(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const placed = new Set<string>();
  const out: string[][] = [];
  while (placed.size < edges.size) {
    const level = [...edges.keys()].filter((s) => !placed.has(s) && (edges.get(s) ?? []).every((d) => placed.has(d))).sort();
    if (level.length === 0) throw new Error(`dependency cycle among ${[...edges.keys()].filter((s) => !placed.has(s)).join(', ')}`);
    level.forEach((s) => placed.add(s));
    out.push(level);
  }
  return out;
}
