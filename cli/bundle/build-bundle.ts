/**
 * Build step: bundle the built CLI (dist/cli/run.js and every module it imports, lazily loaded
 * ones included) into one CommonJS file, dist/cli/main.bundle.cjs, then write its V8 code cache
 * after a warm-up run (`warm-up.ts`). `main.ts` loads them; see cli/README.md.
 *
 *   node dist/cli/bundle/build-bundle.js     (run by `npm run build`, after tsc)
 *
 * Why CommonJS: only a script (vm.Script) can be compiled from a code cache on Node 20, and one
 * file saves resolving and reading ~90 modules. esbuild keeps modules loaded by `import()` lazy
 * (evaluated on first import, as before); static imports are evaluated in ES module order.
 *
 * What keeps the bundle's behaviour the unbundled build's:
 * - `import.meta` in each module is that module's own (its dist/ file's url, filename, dirname),
 *   so files found beside a module (the validator, the DNS worker) are found from the bundle.
 * - Classes and functions keep their own names.
 * - The bundle is strict code, as ES modules are. Packages are bundled when they are strict
 *   too (`"use strict"` or ES modules) or vetted (STRICT_SAFE); others stay `require()`d.
 * - ESM-only packages stay real `import()`s (bundle-plan.ts).
 * - Built-ins in LAZY_BUILTINS load on first use of an export (their export names are the
 *   building Node's; the code uses none newer than Node 20's).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

import { stampSource } from '../../lib/code-cache-writer.js';
import { packageRoot } from '../../lib/package-file.js';
import { BIN_FILE, BUNDLE_CACHE, BUNDLE_FILE } from './bundle-files.js';
import { packageImports, packageName, preloads, withPreloads } from './bundle-plan.js';

/**
 * CommonJS packages without "use strict" that run unchanged as strict code (read and checked:
 * commander is classes and plain helpers; the output comparison test runs it).
 */
const STRICT_SAFE: ReadonlySet<string> = new Set(['commander']);

/**
 * Built-in modules that some modules import but few commands use, loaded on first use of one of
 * their exports instead of when the importing module is evaluated (crypto: ~4 ms, child_process
 * with net and dgram: ~2 ms, on every start; commander alone imports child_process). Only
 * modules whose exports are a plain object (a class or function is used as itself).
 */
const LAZY_BUILTINS: ReadonlySet<string> = new Set(['node:crypto', 'node:child_process']);

/** Defined at the top of the bundle and of the bin (main.cjs): each module's import.meta. */
const IMPORT_META_BANNER = `"use strict";
var __tscBundleUrl = require("node:url").pathToFileURL(__filename);
function __tscImportMeta(rel) {
  const url = new URL(rel, __tscBundleUrl).href;
  const filename = require("node:url").fileURLToPath(url);
  return {
    url, filename, dirname: require("node:path").dirname(filename),
    resolve(specifier) {
      if (/^\\.{0,2}\\//.test(specifier)) return new URL(specifier, url).href;
      throw new Error("import.meta.resolve(" + JSON.stringify(specifier) + ") is not available in the CLI bundle");
    },
  };
}`;

/** Defined at the top of the bundle, after IMPORT_META_BANNER: lazy built-ins, ESM-only packages once imported. */
const BANNER = `${IMPORT_META_BANNER}
function __tscLazyBuiltin(name, keys) {
  let real;
  const out = {};
  for (const [key, enumerable] of keys) Object.defineProperty(out, key, { enumerable, get: () => (real ??= require(name))[key] });
  return out;
}
var __tscEsmOnly = (() => {
  const loaded = new Map();
  return {
    get(name) {
      if (!loaded.has(name)) throw new Error(name + " was used before it was imported");
      return loaded.get(name);
    },
    preload(names) {
      return Promise.all(names.map((n) => (loaded.has(n) ? undefined : importModule(n).then((ns) => void loaded.set(n, ns))))).then(() => undefined);
    },
  };
})();`;

/** A module's source with its own import.meta (its dist/ file's, `rel` from dist/cli), as the banners define it. */
function withImportMeta(source: string, rel: string): string {
  if (!source.includes('import.meta')) return source;
  // After a hashbang line (the entry's), which must stay first.
  const at = source.startsWith('#!') ? source.indexOf('\n') + 1 : 0;
  return `${source.slice(0, at)}const __tsc_import_meta = __tscImportMeta(${JSON.stringify(rel)});\n${source.slice(at)}`;
}

/**
 * The package's bin: dist/cli/main.js (the entry, cli/main.ts) and the two modules it imports as
 * one CommonJS file, so that Node starts it without its ES module loader (~4 ms a command). Its
 * `import('./run.js')` (the unbundled fallback) stays an import of the ES module beside it.
 */
async function buildBin(root: string, cliDir: string): Promise<void> {
  const file = join(cliDir, BIN_FILE);
  rmSync(file, { force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: [relative(root, join(cliDir, 'main.js'))],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    define: { 'import.meta': '__tsc_import_meta' },
    keepNames: true,
    external: ['./run.js'],
    banner: { js: IMPORT_META_BANNER },
    plugins: [
      {
        name: 'tsc-cli-bin',
        setup(b) {
          b.onLoad({ filter: /\.js$/ }, (args) => ({ contents: withImportMeta(readFileSync(args.path, 'utf8'), relative(cliDir, args.path)), loader: 'js' }));
        },
      },
    ],
  });
  const out = result.outputFiles?.[0];
  if (out === undefined) throw new Error('build-bundle: esbuild wrote no bin');
  if (/\brequire\(["']\.\/run\.js["']\)/.test(out.text)) throw new Error('build-bundle: the bin requires run.js (an ES module) instead of importing it');
  writeFileSync(file, out.text, { mode: 0o755 }); // esbuild keeps the entry's hashbang
  process.stdout.write(`wrote ${file}\n`);
}

/** Whether `file` (a package's) is an ES module by Node's rules. */
function isEsmFile(file: string): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string }).type === 'module';
    } catch {
      // no package.json here: look further up
    }
  }
  return false;
}

/** The package.json of the package `specifier` resolves into (as an ES import). */
interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function packageJsonOf(specifier: string): PackageJson {
  const name = packageName(specifier);
  for (let dir = dirname(fileURLToPath(import.meta.resolve(specifier))); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
      if (pkg.name === name) return pkg;
    } catch {
      // keep walking up
    }
  }
  return {};
}

/** Whether a `.js` file begins (after comments) with a "use strict" directive. */
function declaresStrict(source: string): boolean {
  return /^(?:#![^\n]*\n)?(?:\s|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*(['"])use strict\1/.test(source);
}

async function main(): Promise<void> {
  const root = packageRoot();
  if (root === undefined) throw new Error('build-bundle: no package.json above this file');
  const cliDir = dirname(dirname(fileURLToPath(import.meta.url)));
  const entry = relative(root, join(cliDir, 'run.js'));
  if (!entry.startsWith('dist')) throw new Error('build-bundle: run the built file (node dist/cli/bundle/build-bundle.js)');
  const outFile = join(cliDir, BUNDLE_FILE);
  const cacheFile = join(cliDir, BUNDLE_CACHE);
  // A failed build must not leave an older bundle beside a newer main.js' modules.
  rmSync(outFile, { force: true });
  rmSync(cacheFile, { force: true });

  const common: BuildOptions = {
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    define: { 'import.meta': '__tsc_import_meta' },
    // Classes and functions keep their names (esbuild renames some to avoid clashes, which would
    // show in messages and stack traces).
    keepNames: true,
    // No import() in the bundle: a script compiled from a code cache cannot run one (see
    // lib/code-cached-module.ts). Ours of bundled modules become lazy inits; ESM-only packages
    // go through the loader's importModule (BANNER).
    supported: { 'dynamic-import': false },
  };

  // 1. Our modules alone: which packages they import, which lazy imports need an ESM-only one.
  const ours = await build({ ...common, packages: 'external' });
  const ourMeta = ours.metafile as Metafile;
  const requireFrom = createRequire(join(root, 'dist', 'index.js'));
  const esmOnly = new Set<string>();
  for (const spec of packageImports(ourMeta, isBuiltin)) {
    let file: string | undefined;
    try {
      file = requireFrom.resolve(spec);
    } catch {
      file = undefined; // no `require` export: ESM-only
    }
    if (file === undefined || isEsmFile(file)) esmOnly.add(spec);
  }
  const theirs = new Set<string>();
  for (const spec of esmOnly) {
    const pkg = packageJsonOf(spec);
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]) theirs.add(dep);
  }
  const shared = new Set([...packageImports(ourMeta, isBuiltin)].map(packageName).filter((n) => theirs.has(n)));
  const lazy = preloads(ourMeta, entry, (s) => esmOnly.has(s));
  const exportsOf = new Map<string, string[]>();
  for (const spec of esmOnly) exportsOf.set(spec, Object.keys((await import(import.meta.resolve(spec))) as object));

  // 2. The bundle, packages in, until every bundled package is strict code.
  const external = new Set<string>();
  for (;;) {
    const rewritten = new Set<string>();
    const plugin: Plugin = {
      name: 'tsc-cli-bundle',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => {
          if (isBuiltin(args.path)) {
            const name = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
            return LAZY_BUILTINS.has(name) ? { path: name, namespace: 'tsc-lazy-builtin' } : undefined;
          }
          if (esmOnly.has(args.path)) return { path: args.path, namespace: 'tsc-esm-only' };
          const name = packageName(args.path);
          if (shared.has(name) || external.has(name)) return { path: args.path, external: true };
          return undefined;
        });
        b.onLoad({ filter: /.*/, namespace: 'tsc-lazy-builtin' }, (args) => {
          const real = requireFrom(args.path) as object;
          if (typeof real !== 'object') throw new Error(`build-bundle: ${args.path} is not a plain object of exports: it cannot be loaded lazily`);
          const keys = Object.entries(Object.getOwnPropertyDescriptors(real)).map(([k, d]) => [k, d.enumerable === true]);
          return { contents: `module.exports = __tscLazyBuiltin(${JSON.stringify(args.path)}, ${JSON.stringify(keys)});`, loader: 'js' };
        });
        b.onLoad({ filter: /.*/, namespace: 'tsc-esm-only' }, (args) => {
          const names = exportsOf.get(args.path) ?? [];
          const lines = [`const ns = __tscEsmOnly.get(${JSON.stringify(args.path)});`];
          for (const n of names) lines.push(n === 'default' ? 'export default ns.default;' : `export const ${n} = ns[${JSON.stringify(n)}];`);
          return { contents: lines.join('\n'), loader: 'js' };
        });
        b.onLoad({ filter: /\.js$/ }, (args) => {
          const file = relative(root, args.path);
          if (!file.startsWith('dist/')) return undefined;
          let source = readFileSync(args.path, 'utf8');
          const p = withPreloads(source, file, lazy);
          for (const r of p.rewritten) rewritten.add(r);
          source = p.source;
          return { contents: withImportMeta(source, relative(cliDir, args.path)), loader: 'js' };
        });
      },
    };
    const result = await build({ ...common, plugins: [plugin], banner: { js: BANNER } });
    const meta = result.metafile as Metafile;
    const missing = [...lazy.keys()].filter((t) => !rewritten.has(t));
    if (missing.length > 0) throw new Error(`build-bundle: the import() of ${missing.join(', ')} was not found to load its ESM-only packages first`);
    const sloppy = new Set<string>();
    for (const [file, input] of Object.entries(meta.inputs)) {
      if (!file.includes('node_modules/') || input.format === 'esm') continue;
      const name = packageName(file.slice(file.lastIndexOf('node_modules/') + 'node_modules/'.length));
      if (!STRICT_SAFE.has(name) && !declaresStrict(readFileSync(join(root, file), 'utf8'))) sloppy.add(name);
    }
    if (sloppy.size > 0) {
      for (const s of sloppy) external.add(s);
      continue;
    }
    const out = result.outputFiles?.[0];
    if (out === undefined) throw new Error('build-bundle: esbuild wrote nothing');
    writeFileSync(outFile, stampSource(out.text));
    const bundled = new Set(Object.keys(meta.inputs).filter((f) => f.includes('node_modules/')).map((f) => packageName(f.slice(f.lastIndexOf('node_modules/') + 13))));
    process.stdout.write(`wrote ${outFile} (${Object.keys(meta.inputs).length} modules; packages in: ${[...bundled].sort().join(', ') || 'none'}; outside: ${[...esmOnly, ...shared, ...external].sort().join(', ') || 'none'})\n`);
    break;
  }

  // 3. The bin.
  await buildBin(root, cliDir);

  // 4. The code cache, in a process of its own under the CLI's flags.
  const warm = spawnSync(process.execPath, [join(cliDir, 'bundle', 'warm-up.js'), outFile, cacheFile], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (warm.status !== 0) throw new Error(`build-bundle: the warm-up run failed (${warm.status ?? warm.signal}): ${warm.stderr}`);
  process.stdout.write(`wrote ${cacheFile}\n`);
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) await main();
