/**
 * The seed's compose examples run for real (issue 5), each as its corpus README says a correct
 * implementation behaves: `three-tier` (start order behind a healthcheck, network isolation,
 * interpolated defaults, the named volume kept by `down` and removed by `down -v`), `profiles`
 * (which services each profile enables) and `override-auto` (the override file read without
 * -f). The files are the corpus's own (fixtures/compose/, READMEs there); the only change, in
 * a stand-in file beside them, swaps images and commands for busybox ones made from the
 * offline fixture image.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type CliResult, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

const seeds = fileURLToPath(new URL('../../fixtures/compose', import.meta.url));

const THREE_TIER_STANDIN = `
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
    ports: !override ["127.0.0.1:18491:80"]
  app:
    image: busybox
    command: ["sh", "-c", "echo NODE_ENV=$$NODE_ENV DB_HOST=$$DB_HOST; exec sleep 600"]
    stop_signal: SIGKILL
  db:
    image: busybox
    command: ["sh", "-c", "echo POSTGRES_USER=$$POSTGRES_USER; touch /var/lib/postgresql/data/ready; exec sleep 600"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "test -f /var/lib/postgresql/data/ready"]
      interval: 1s
`;

const OVERRIDE_STANDIN = `
services:
  app:
    image: busybox
    command: ["sh", "-c", "echo DEBUG=$$DEBUG; ls /app; exec sleep 600"]
    stop_signal: SIGKILL
    ports: !override ["127.0.0.1:18493:3000"]
`;

describePrivileged('the seed examples on one host', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;
  const names = { tt: '', pr: '', ov: '' };
  /** `tsc-compose ARGS` in `dir` (of the project tree), as a user would run it there. */
  const cli = (dir: string, args: string[], extraEnv: Record<string, string> = {}): CliResult => {
    const { argv, env, cwd } = host.command;
    const [bin = '', ...rest] = argv;
    // "Nothing set in the shell", as the corpus README assumes (vitest sets NODE_ENV=test).
    const shell = { ...env, ...extraEnv };
    if (extraEnv['NODE_ENV'] === undefined) delete shell['NODE_ENV'];
    const r = spawnSync(bin, [...rest, ...args], { cwd: join(cwd, dir), env: shell, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (dir: string, args: string[]) => {
    const r = cli(dir, args);
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const services = (dir: string, args: string[]) =>
    ok(dir, [...args, 'ps', '-a', '--format', 'json'])
      .stdout.trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { Service: string }).Service)
      .sort();

  beforeAll(async () => {
    host = await createE2eHost('seeds', { '.keep': '' });
    names.tt = `${host.project}tt`;
    names.pr = `${host.project}pr`;
    names.ov = `${host.project}ov`;
    const proj = host.command.cwd;
    for (const d of ['three-tier', 'profiles', 'override-auto']) cpSync(join(seeds, d), join(proj, d), { recursive: true });
    writeFileSync(join(proj, 'three-tier/compose.override.yaml'), THREE_TIER_STANDIN);
    mkdirSync(join(proj, 'three-tier/html'));
    writeFileSync(join(proj, 'three-tier/html/index.html'), 'three-tier web\n');
    writeFileSync(join(proj, 'override-auto/standin.yml'), OVERRIDE_STANDIN);
  }, 180_000);

  afterAll(async () => {
    cli('three-tier', ['-p', names.tt, 'down', '-v', '-t', '0']);
    cli('profiles', ['-p', names.pr, '--profile', 'development', '--profile', 'production', 'down', '-t', '0']);
    cli('override-auto', ['-p', names.ov, '-f', 'docker-compose.yml', '-f', 'docker-compose.override.yml', '-f', 'standin.yml', 'down', '-t', '0']);
    await host.dispose();
  }, 180_000);

  it('three-tier: db healthy before app, app before web; web cannot resolve db, app resolves both', () => {
    const up = ok('three-tier', ['-p', names.tt, '--progress', 'plain', 'up', '-d']);
    expect(up.stderr).toMatch(/version.*obsolete/);
    const lines = up.stderr.split('\n');
    const at = (svc: string, what: string) => lines.indexOf(` Container ${names.tt}-${svc}-1  ${what}`);
    expect(at('db', 'Healthy')).toBeGreaterThan(at('db', 'Started'));
    expect(at('app', 'Started')).toBeGreaterThan(at('db', 'Healthy'));
    expect(at('web', 'Started')).toBeGreaterThan(at('app', 'Started'));
    expect(services('three-tier', ['-p', names.tt])).toEqual(['app', 'db', 'web']);
    // Interpolation defaults (no .env here).
    expect(ok('three-tier', ['-p', names.tt, 'logs', '--no-log-prefix', 'app']).stdout).toBe('NODE_ENV=development DB_HOST=db\n');
    expect(ok('three-tier', ['-p', names.tt, 'logs', '--no-log-prefix', 'db']).stdout).toBe('POSTGRES_USER=user\n');
    const staging = cli('three-tier', ['-p', names.tt, 'config', '--format', 'json'], { NODE_ENV: 'staging' });
    expect((JSON.parse(staging.stdout) as { services: { app: { environment: Record<string, string> } } }).services.app.environment['NODE_ENV']).toBe('staging');
    // frontend holds web and app, backend app and db.
    expect(cli('three-tier', ['-p', names.tt, 'exec', '-T', 'app', 'nslookup', 'db']).status).toBe(0);
    expect(cli('three-tier', ['-p', names.tt, 'exec', '-T', 'app', 'nslookup', 'web']).status).toBe(0);
    expect(cli('three-tier', ['-p', names.tt, 'exec', '-T', 'web', 'nslookup', 'db']).status).not.toBe(0);
    // ./html is bind-mounted read-only into web.
    expect(spawnSync('busybox', ['wget', '-qO-', 'http://127.0.0.1:18491/'], { encoding: 'utf8' }).stdout).toBe('three-tier web\n');
    expect(cli('three-tier', ['-p', names.tt, 'exec', '-T', 'web', 'touch', '/usr/share/nginx/html/x']).status).not.toBe(0);
  }, 240_000);

  it('three-tier: down keeps postgres_data, down -v removes it', () => {
    const volume = `${names.tt}_postgres_data`;
    const volumes = () => ok('.', ['volume', 'ls', '-q']).stdout.split('\n');
    ok('three-tier', ['-p', names.tt, 'down', '-t', '0']);
    expect(volumes()).toContain(volume);
    expect(services('three-tier', ['-p', names.tt])).toEqual([]);
    ok('three-tier', ['-p', names.tt, 'up', '-d']);
    ok('three-tier', ['-p', names.tt, 'down', '-v', '-t', '0']);
    expect(volumes()).not.toContain(volume);
  }, 240_000);

  it('profiles: each profile enables its services, none without one', () => {
    const p = ['-p', names.pr];
    expect(ok('profiles', [...p, 'config', '--services']).stdout).toBe('');
    ok('profiles', [...p, '--profile', 'development', 'up', '-d']);
    expect(services('profiles', p)).toEqual(['app']);
    ok('profiles', [...p, '--profile', 'production', 'up', '-d']);
    expect(services('profiles', p)).toEqual(['app', 'app-prod']);
    ok('profiles', [...p, '--profile', 'development', '--profile', 'production', 'down', '-t', '0']);
    expect(services('profiles', p)).toEqual([]);
    ok('profiles', [...p, '--profile', 'staging', 'up', '-d']);
    expect(services('profiles', p)).toEqual(['app']);
  }, 240_000);

  it('override-auto: the override is read without -f, and its bind and environment reach the container', () => {
    const auto = JSON.parse(ok('override-auto', ['-p', names.ov, 'config', '--format', 'json']).stdout) as { services: { app: { environment?: Record<string, string>; volumes?: unknown[] } } };
    expect(auto.services.app.environment).toEqual({ DEBUG: 'true' });
    expect(auto.services.app.volumes).toHaveLength(1);
    const baseOnly = JSON.parse(ok('override-auto', ['-p', names.ov, '-f', 'docker-compose.yml', 'config', '--format', 'json']).stdout) as typeof auto;
    expect(baseOnly.services.app.environment).toBeUndefined();
    expect(baseOnly.services.app.volumes).toBeUndefined();
    const files = ['-f', 'docker-compose.yml', '-f', 'docker-compose.override.yml', '-f', 'standin.yml'];
    ok('override-auto', ['-p', names.ov, ...files, 'up', '-d']);
    const logs = ok('override-auto', ['-p', names.ov, ...files, 'logs', '--no-log-prefix', 'app']).stdout.split('\n');
    expect(logs[0]).toBe('DEBUG=true');
    expect(logs).toContain('docker-compose.override.yml');
  }, 240_000);
});
