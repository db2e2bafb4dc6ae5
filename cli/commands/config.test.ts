import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/compose/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'tsc-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `tsc-compose ARGS` in `cwd` with only the variables given (plus PATH). */
function run(cwd: string, args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [main, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}

const threeTier = join(fixtures, 'three-tier');
const VERSION_WARN = 'WARN[0000] compose.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion\n';

describe.concurrent('tsc-compose config', () => {
  it('prints the project as YAML, name first, and warns about version on stderr', async () => {
    const r = await run(threeTier, ['config']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(VERSION_WARN);
    expect(r.stdout.startsWith('name: three-tier\nservices:\n  app:\n')).toBe(true);
    expect(r.stdout).toMatch(/\nnetworks:\n {2}backend:\n[\s\S]*\nvolumes:\n {2}postgres_data:/);
  });

  it('prints JSON with --format json', async () => {
    const r = await run(threeTier, ['config', '--format', 'json'], { env: { NODE_ENV: 'staging' } });
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['name', 'services', 'networks', 'volumes']);
    expect(Object.keys(doc.services as object)).toEqual(['app', 'db', 'web']);
    expect(JSON.stringify((doc.services as Record<string, unknown>).app)).toContain('NODE_ENV');
    expect(JSON.stringify((doc.services as Record<string, unknown>).app)).toContain('staging');
  });

  it('lists services in dependency order, volumes and networks by name', async () => {
    expect((await run(threeTier, ['config', '--services'])).stdout).toBe('db\napp\nweb\n');
    expect((await run(threeTier, ['config', '--volumes'])).stdout).toBe('postgres_data\n');
    expect((await run(threeTier, ['config', '--networks'])).stdout).toBe('backend\nfrontend\n');
  });

  it('lists images, built services named <project>-<service>', async () => {
    expect((await run(threeTier, ['config', '--images'])).stdout).toBe('three-tier-app\npostgres:15-alpine\nnginx:alpine\n');
  });

  it('prints a config hash per service', async () => {
    const r = await run(threeTier, ['config', '--hash', '*']);
    expect(r.stdout).toMatch(/^app [0-9a-f]{64}\ndb [0-9a-f]{64}\nweb [0-9a-f]{64}\n$/);
    const again = await run(threeTier, ['config', '--hash', 'web']);
    expect(again.stdout).toBe(`${r.stdout.split('\n')[2]}\n`);
  });

  it('applies --profile, COMPOSE_PROFILES and named services', async () => {
    const dir = join(fixtures, 'profiles');
    expect((await run(dir, ['config', '--profiles'])).stdout).toBe('development\nproduction\nstaging\n');
    expect((await run(dir, ['config', '--services'])).stdout).toBe('');
    expect((await run(dir, ['--profile', 'production', 'config', '--services'])).stdout).toBe('app-prod\n');
    expect((await run(dir, ['config', '--services'], { env: { COMPOSE_PROFILES: 'development,production' } })).stdout).toBe(
      'app\napp-prod\n',
    );
    expect((await run(dir, ['config', '--services', 'app-prod'])).stdout).toBe('app-prod\n');
  });

  it('takes --project-directory (and its .env) and --env-file from the command line', async () => {
    const dir = join(fixtures, 'three-tier-dotenv');
    const r = await run(tmp, ['--project-directory', dir, 'config', '--format', 'json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { name: string; services: { db: unknown } };
    expect(doc.name).toBe('three-tier-dotenv');
    expect(JSON.stringify(doc.services.db)).toContain('admin');
    writeFileSync(join(tmp, 'other.env'), 'DB_USER=from-other\n');
    const other = await run(tmp, ['--project-directory', dir, '--env-file', 'other.env', 'config', '--format', 'json']);
    const db = JSON.stringify((JSON.parse(other.stdout) as { services: { db: unknown } }).services.db);
    expect(db).toContain('from-other');
    expect(db).not.toContain('admin');
  });

  it('merges -f files in order', async () => {
    const dir = join(fixtures, 'env-split');
    const r = await run(dir, ['-f', 'docker-compose.yml', '-f', 'docker-compose.prod.yml', 'config', '--format', 'json'], {
      env: { TAG: '1.2' },
    });
    expect(r.status).toBe(0);
    const app = (JSON.parse(r.stdout) as { services: { app: { image: string; restart: string } } }).services.app;
    expect(app.image).toBe('registry.example.com/app:1.2');
    expect(app.restart).toBe('always');
  });

  it('reads -f - from stdin, keeps ${...} with --no-interpolate, writes -o FILE, prints nothing with -q', async () => {
    const yaml = 'services:\n  web:\n    image: "nginx:${TAG:-latest}"\n';
    const out = join(tmp, 'out.yaml');
    const r = await run(tmp, ['-f', '-', '-p', 'demo', 'config', '--no-interpolate', '-o', out], { stdin: yaml });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const written = readFileSync(out, 'utf8');
    expect(written.startsWith('name: demo\nservices:\n  web:\n')).toBe(true);
    expect((parse(written) as { services: { web: { image: string } } }).services.web.image).toBe('nginx:${TAG:-latest}');
    const q = await run(tmp, ['-f', '-', '-p', 'demo', 'config', '-q'], { stdin: yaml });
    expect(q).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('fails with the file, line, column and key, and no stack trace', async () => {
    writeFileSync(join(tmp, 'bad.yaml'), 'services:\n  web:\n    image: "x:${TAG:?TAG must be set}"\n');
    const r = await run(tmp, ['-f', 'bad.yaml', 'config']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('bad.yaml:3:5 services.web.image: required variable TAG is missing a value: TAG must be set\n');
    const verbose = await run(tmp, ['--verbose', '-f', 'bad.yaml', 'config']);
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/^bad\.yaml:3:5 services\.web\.image: required variable TAG is missing a value: TAG must be set\nTscError: .*\n {4}at /);
  });

  it('rejects an invalid project name', async () => {
    const r = await run(threeTier, ['-p', 'Bad Name', 'config']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `invalid project name "Bad Name" (from the -p option): must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number\n`,
    );
  });

  it('says when there is no compose file', async () => {
    const r = await run(tmp, ['config']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^no configuration file provided: not found\nhint: looked for compose\.yaml, compose\.yml, docker-compose\.yml, docker-compose\.yaml in /);
  });
});
