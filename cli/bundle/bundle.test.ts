/**
 * The built CLI (`npm run build`: the bin dist/cli/main.cjs with its bundle and code cache) as
 * users run it: it runs from the bundle, V8 takes the cache, and it prints exactly what the same build's
 * modules print when loaded one by one (`TSC_COMPOSE_BUNDLE=0`). Needs the built tree (CI builds
 * it in `npm ci`); run `npm run build` after changing the sources.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { COMMANDS } from '../program.js';
import { BIN_FILE, BUNDLE_CACHE, BUNDLE_FILE } from './bundle-files.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(repo, 'dist', 'cli');
const main = join(dist, BIN_FILE);
const fixtures = join(repo, 'fixtures', 'compose');

function built(): void {
  if (!existsSync(join(dist, BUNDLE_FILE)) || !existsSync(main)) throw new Error(`no built CLI bundle in ${dist}: run \`npm run build\` first`);
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/cli/main.cjs ARGS` in `cwd`, from the bundle or (unbundled) the modules. */
function cli(args: string[], cwd: string, unbundled: boolean): Promise<Run> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: '/nonexistent-home', ...(unbundled ? { TSC_COMPOSE_BUNDLE: '0' } : {}) };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Each case run both ways, two at a time. */
async function bothWays(cases: ReadonlyArray<{ args: string[]; cwd: string }>): Promise<Array<{ args: string[]; cwd: string; bundled: Run; unbundled: Run }>> {
  const out = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as { args: string[]; cwd: string };
    const [bundled, unbundled] = await Promise.all([cli(c.args, c.cwd, false), cli(c.args, c.cwd, true)]);
    out.push({ ...c, bundled, unbundled });
  }
  return out;
}

describe('the built CLI bundle', () => {
  it('is what the binary runs, compiled from its code cache', async () => {
    built();
    expect(statSync(join(dist, BUNDLE_FILE)).mtimeMs).toBeGreaterThanOrEqual(statSync(join(dist, 'main.js')).mtimeMs);
    // the package's bin is this file, a CommonJS script (no ES module loader at start)
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['tsc-compose']).toBe(`dist/cli/${BIN_FILE}`);
    expect(readFileSync(main, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n"use strict";/);
    // a stack trace (--verbose) names the files the code came from
    const bundled = await cli(['--verbose', '-f', '/nonexistent/compose.yaml', 'config'], repo, false);
    expect(bundled.stderr).toContain(BUNDLE_FILE);
    const unbundled = await cli(['--verbose', '-f', '/nonexistent/compose.yaml', 'config'], repo, true);
    expect(unbundled.stderr).not.toContain(BUNDLE_FILE);
    expect(unbundled.stderr).toContain('dist/schema/');
    // loaded as main.js loads it, in a process of its own (V8 checks its flags)
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { loadWithCodeCache, useCodeCacheFlags } from ${JSON.stringify(join(repo, 'dist/lib/code-cached-module.js'))};
         useCodeCacheFlags();
         const l = loadWithCodeCache(${JSON.stringify(join(dist, BUNDLE_FILE))}, { cacheFile: ${JSON.stringify(join(dist, BUNDLE_CACHE))} });
         process.stdout.write(JSON.stringify({ cacheUsed: l.cacheUsed, main: typeof l.exports.main }));`,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(probe.stdout)).toEqual({ cacheUsed: true, main: 'function' });
  });

  it('prints what the unbundled modules print: help, usage errors, version, config of the seed projects', async () => {
    built();
    const words = COMMANDS.flatMap(([names]) => names);
    const cases: Array<{ args: string[]; cwd: string }> = [
      ...[[], ['--help'], ['version'], ['version', '--short'], ['no-such-command'], ['config', '--bogus'], ['-p'], ['exec'], ['--progress', 'bad', 'ps'], ['image', 'bogus'], ['network', '--help'], ['volume', '--help'], ['image', '--help']].map((args) => ({ args, cwd: repo })),
      ...words.map((w) => ({ args: [w, '--help'], cwd: repo })),
    ];
    for (const dir of readdirSync(fixtures)) {
      cases.push({ args: ['config'], cwd: join(fixtures, dir) }, { args: ['--profile', '*', 'config', '--format', 'json'], cwd: join(fixtures, dir) });
    }
    const runs = await bothWays(cases);
    for (const r of runs) {
      expect({ args: r.args, cwd: r.cwd, ...r.bundled }).toEqual({ args: r.args, cwd: r.cwd, ...r.unbundled });
    }
    // the cases are not all failures: help and config printed something and exited 0
    expect(runs.filter((r) => r.bundled.status === 0 && r.bundled.stdout.length > 0).length).toBeGreaterThan(words.length + fixtures.length);
  }, 120_000);
});
