import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { writeTestCredentialHelper } from '../../agent/images/registry/test-credential-helper.js';
import { command, describePrivileged } from '../../test/support/privileged.js';
import { TEST_REGISTRY_USER, startRegistry } from '../../test/support/registry-harness.js';
import type { RunningRegistry } from '../../test/support/registry-harness.js';

const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const main = fileURLToPath(new URL('../main.ts', import.meta.url));
const dirs: string[] = [];
let registry: RunningRegistry;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>, stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [main, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const exists = (f: string) => stat(f).then(() => true, () => false);

describePrivileged('tsc-compose login / logout', [command('docker-registry')], () => {
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: [TEST_REGISTRY_USER.htpasswd] });
  });
  afterAll(async () => {
    await registry.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('refuses a wrong password and saves nothing; saves a good one in config.json; logout forgets it', async () => {
    const home = await tmp('tsc-login-cli-');
    const env = { HOME: home, DOCKER_CONFIG: join(home, 'dc') };
    const file = join(home, 'dc', 'config.json');
    const wrong = await run(['login', registry.host, '-u', 'alice', '--password-stdin'], env, 'nope\n');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`login to ${registry.host} failed: unauthorized: incorrect username or password`);
    expect(await exists(file)).toBe(false);

    const good = await run(['login', registry.host, '-u', 'alice', '--password-stdin'], env, `${TEST_REGISTRY_USER.password}\n`);
    expect(good.stderr).toContain(`Your password will be stored unencrypted in ${file}`);
    expect(good.stdout).toBe('Login Succeeded\n');
    expect(good.status).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: { [registry.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } });
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    // No flags: the saved credentials are checked again.
    const again = await run(['login', registry.host], env);
    expect(again.stdout).toBe('Authenticating with existing credentials...\nLogin Succeeded\n');

    const out = await run(['logout', `http://${registry.host}`], env);
    expect(out.stdout).toBe(`Removing login credentials for ${registry.host}\n`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: {} });
    expect((await run(['logout', registry.host], env)).stdout).toBe(`Not logged in to ${registry.host}\n`);
  });

  it('stores through the credential helper config.json names, and explains usage errors', async () => {
    const home = await tmp('tsc-login-cli-helper-');
    const helper = await writeTestCredentialHelper(home, 'tsccli');
    await writeFile(join(home, 'config.json'), JSON.stringify({ credsStore: 'tsccli', psFormat: 'table' }));
    const env = { HOME: home, DOCKER_CONFIG: home, PATH: helper.env['PATH'] ?? '' };
    const r = await run(['login', registry.host, '-u', 'alice', '-p', TEST_REGISTRY_USER.password], env);
    expect(r.stderr).toBe('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    expect(r.status).toBe(0);
    expect(await helper.stored()).toEqual({ [registry.host]: { Username: 'alice', Secret: 's3cret' } });
    expect(JSON.parse(await readFile(join(home, 'config.json'), 'utf8'))).toEqual({ credsStore: 'tsccli', psFormat: 'table', auths: { [registry.host]: {} } });
    await run(['logout', registry.host], env);
    expect(await helper.stored()).toEqual({});

    const noTty = await run(['login', registry.host, '-u', 'alice'], env);
    expect(noTty.status).toBe(1);
    expect(noTty.stderr).toContain('Cannot perform an interactive login from a non TTY device');
    const noUser = await run(['login', registry.host, '--password-stdin'], env, 'x\n');
    expect(noUser.stderr).toContain('must provide --username with --password-stdin');
  });
});
