/**
 * What the CLI bundle needs besides esbuild's bundling, worked out from esbuild's metafile of
 * our modules (packages external). Pure: `build-bundle.ts` does the I/O.
 *
 * - ESM-only packages (ink, chokidar: `require()` cannot load them on Node 20, and the bundle is
 *   CommonJS) stay real `import()`s, and are imported only when a lazily loaded module needs
 *   them: each dynamic `import('./x.js')` whose static closure reaches one is preceded by
 *   loading those packages (`preloads`); the bundled modules then read them from there.
 * - A package an ESM-only package depends on (react for ink) stays outside too, so that both
 *   share one instance.
 */
import { dirname, join, normalize } from 'node:path';

/** The part of esbuild's metafile this file reads. */
export interface ImportsMeta {
  inputs: Record<string, { imports: ReadonlyArray<{ path: string; kind: string; external?: boolean }> }>;
}

/** The package a bare specifier names (`react/jsx-runtime` → `react`, `@grpc/grpc-js/x` → `@grpc/grpc-js`). */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The bare specifiers (packages, not node: built-ins nor esbuild's `<runtime>`) our modules import. */
export function packageImports(meta: ImportsMeta, isBuiltin: (s: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const input of Object.values(meta.inputs)) {
    for (const imp of input.imports) if (imp.external === true && !isBuiltin(imp.path) && !imp.path.startsWith('<')) out.add(imp.path);
  }
  return out;
}

const STATIC = new Set(['import-statement', 'require-call']);

/**
 * For each module that a dynamic `import()` loads and whose static closure reaches an ESM-only
 * package: those packages (specifiers as imported), sorted. A module reached statically from
 * `entry` must not need one (the bundle is loaded synchronously): that is an error.
 */
export function preloads(meta: ImportsMeta, entry: string, esmOnly: (specifier: string) => boolean): Map<string, string[]> {
  const needs = new Map<string, Set<string>>();
  const visiting = new Set<string>();
  const closure = (file: string): Set<string> => {
    const known = needs.get(file);
    if (known !== undefined) return known;
    const out = new Set<string>();
    if (visiting.has(file)) return out; // a cycle: its other members add theirs
    visiting.add(file);
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (!STATIC.has(imp.kind)) continue;
      if (imp.external === true) {
        if (esmOnly(imp.path)) out.add(imp.path);
      } else {
        for (const s of closure(imp.path)) out.add(s);
      }
    }
    visiting.delete(file);
    needs.set(file, out);
    return out;
  };
  const eager = closure(entry);
  if (eager.size > 0) throw new Error(`the CLI bundle's entry ${entry} reaches the ESM-only ${[...eager].join(', ')} without a dynamic import()`);
  const out = new Map<string, string[]>();
  for (const input of Object.values(meta.inputs)) {
    for (const imp of input.imports) {
      if (imp.kind !== 'dynamic-import' || imp.external === true) continue;
      needs.clear(); // a cycle's partial answers must not stick
      const set = closure(imp.path);
      if (set.size > 0) out.set(imp.path, [...set].sort());
    }
  }
  return out;
}

/**
 * `source` (module `file`, package-relative) with each `import('./x.js')` of a module in
 * `wanted` preceded by its preloads (`__tscEsmOnly.preload([...])`, defined by the bundle's
 * banner); the modules rewritten. tsc writes dynamic imports of literal paths this way.
 */
export function withPreloads(source: string, file: string, wanted: ReadonlyMap<string, readonly string[]>): { source: string; rewritten: string[] } {
  const rewritten: string[] = [];
  const out = source.replace(/\bimport\((['"])(\.{1,2}\/[^'"]+)\1\)/g, (whole, _q: string, spec: string) => {
    const target = normalize(join(dirname(file), spec));
    const packages = wanted.get(target);
    if (packages === undefined) return whole;
    rewritten.push(target);
    return `__tscEsmOnly.preload(${JSON.stringify(packages)}).then(() => ${whole})`;
  });
  return { source: out, rewritten };
}
