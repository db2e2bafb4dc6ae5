/**
 * The depends_on graph: cycle detection that names the chain (compose-go graph/cycle.go:
 * "dependency cycle detected: a -> b -> a") and the start order the reconciler follows
 * (levels of services whose dependencies are all in earlier levels; each level can start in
 * parallel). Pure functions over service name → dependency names; a dependency that is not a
 * service (an optional one left out by profiles) is not an edge. Everything is sorted by name,
 * so the same project always gives the same order and the same cycle.
 */

/** service → the services it depends on. */
export type DependencyGraph = Readonly<Record<string, readonly string[]>>;

export interface DependsOnLike {
  depends_on?: unknown;
}

/** The graph of a `services` mapping in long form (`depends_on: {db: {...}}`). */
export function dependencyGraph(services: Readonly<Record<string, DependsOnLike>>): DependencyGraph {
  const g: Record<string, string[]> = {};
  for (const name of Object.keys(services).sort()) {
    const d = services[name]?.depends_on;
    const deps = d !== null && typeof d === 'object' && !Array.isArray(d) ? Object.keys(d) : Array.isArray(d) ? d.map(String) : [];
    g[name] = deps.filter((x) => Object.hasOwn(services, x)).sort();
  }
  return g;
}

/** The first cycle found, as the chain that closes it (`['a', 'b', 'a']`), or undefined. */
export function findCycle(graph: DependencyGraph): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const s = state.get(node);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of graph[node] ?? []) {
      const c = visit(dep);
      if (c !== undefined) return c;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of Object.keys(graph).sort()) {
    const c = visit(node);
    if (c !== undefined) return c;
  }
  return undefined;
}

export function cycleMessage(cycle: readonly string[]): string {
  return `dependency cycle detected: ${cycle.join(' -> ')}`;
}

/**
 * Start order in levels: level 0 depends on nothing, level n only on earlier levels. Throws a
 * plain Error on a cycle (validateProject reports cycles to users before anyone asks for this).
 */
export function startLevels(graph: DependencyGraph): string[][] {
  const level = new Map<string, number>();
  const cycle = findCycle(graph);
  if (cycle !== undefined) throw new Error(cycleMessage(cycle));
  const depthOf = (node: string): number => {
    const known = level.get(node);
    if (known !== undefined) return known;
    const deps = graph[node] ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(depthOf));
    level.set(node, d);
    return d;
  };
  const levels: string[][] = [];
  for (const node of Object.keys(graph).sort()) {
    const d = depthOf(node);
    (levels[d] ??= []).push(node);
  }
  return levels.map((l) => l.sort());
}

/** Start order flattened: dependencies before their dependents. */
export function startOrder(graph: DependencyGraph): string[] {
  return startLevels(graph).flat();
}

/** Stop order: dependents before their dependencies (start levels reversed). */
export function stopLevels(graph: DependencyGraph): string[][] {
  return startLevels(graph).reverse();
}

/** Every service that `roots` need, transitively, roots included (sorted). */
export function withDependencies(graph: DependencyGraph, roots: Iterable<string>): string[] {
  const seen = new Set<string>();
  const walk = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of graph[n] ?? []) walk(d);
  };
  for (const r of roots) walk(r);
  return [...seen].sort();
}
