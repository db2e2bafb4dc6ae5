#!/usr/bin/env node
/**
 * Entry point of the `tsc-compose` binary. It only chooses how to load the program (`run.ts`).
 * The package's bin is this module made CommonJS by the build (dist/cli/main.cjs: Node then
 * starts without its ES module loader, ~4 ms); dist/cli/main.js is the same as an ES module.
 *
 * - Built by `npm run build`, the program is one CommonJS bundle beside this file
 *   (`main.bundle.cjs`, made by `bundle/build-bundle.ts`), compiled with the V8 code cache the
 *   build wrote after a warm-up run (`main.bundle.cache`): no module resolution, no parsing, the
 *   functions a command runs already compiled. A missing or unfitting cache is compiled as usual.
 * - From the sources (tsx), without a bundle, with a bundle older than this file (`tsc` ran
 *   again after the bundle was made), or with `TSC_COMPOSE_BUNDLE=0`: the modules themselves.
 *
 * Both load under the flags the caches are made for (TurboFan off: `run.ts` turns it back on
 * for long-running commands).
 */
import type * as Fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Url from 'node:url';

import { loadWithCodeCache, useCodeCacheFlags } from '../lib/code-cached-module.js';
import { BUNDLE_CACHE, BUNDLE_FILE } from './bundle/bundle-files.js';

// Built-ins through require: an ES import of one makes a module facade (~0.2 ms a start).
const require = createRequire(import.meta.url);
const { statSync } = require('node:fs') as typeof Fs;
const { fileURLToPath } = require('node:url') as typeof Url;

/** Node's modules that most commands load (the agent's HTTP client, streams, prompts, files). */
const PRELOADED_BUILTINS = ['node:http', 'node:net', 'node:stream', 'node:readline', 'node:readline/promises', 'node:fs/promises', 'node:os', 'node:string_decoder', 'node:diagnostics_channel'];

/** Commands that compute services' config hashes. */
const HASHING_COMMANDS: ReadonlySet<string> = new Set(['up', 'create', 'run', 'watch']);

interface Program {
  main(argv: readonly string[]): Promise<number>;
}

/** The bundled program, when there is a bundle at least as new as this file. */
function bundled(): Program | undefined {
  if (process.env['TSC_COMPOSE_BUNDLE'] === '0') return undefined;
  const file = fileURLToPath(new URL(`./${BUNDLE_FILE}`, import.meta.url));
  const bundleTime = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
  if (bundleTime === undefined || bundleTime < statSync(fileURLToPath(import.meta.url)).mtimeMs) return undefined;
  const cacheFile = fileURLToPath(new URL(`./${BUNDLE_CACHE}`, import.meta.url));
  return loadWithCodeCache(file, { cacheFile, importModule: (specifier) => import(specifier) }).exports as Program;
}

async function start(): Promise<void> {
  // The built-ins a command uses, loaded before the flags change: Node's own code cache of them
  // is made under its default flags and refused under others (~5 ms of compiling).
  for (const builtin of PRELOADED_BUILTINS) require(builtin);
  // node:crypto too when the command hashes services (config-hash labels): ~3.5 ms of compiling
  // under the new flags against ~1.3 ms now; a word of the command line is enough to guess it.
  if (process.argv.slice(2).some((a) => HASHING_COMMANDS.has(a))) require('node:crypto');
  useCodeCacheFlags();
  const program = bundled() ?? ((await import('./run.js')) as Program);
  process.exitCode = await program.main(process.argv.slice(2));
}

// Not a top-level await: the build also makes this module the package's CommonJS bin
// (dist/cli/main.cjs, see bundle/build-bundle.ts), and a failure still ends the process as one.
void start();
