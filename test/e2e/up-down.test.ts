/**
 * One host, end to end, as a user runs it: the CLI loads an image archive, starts a project
 * whose client waits for a healthy web server, reaches it by name and on its published port,
 * then `down` leaves no container, netns, link, nftables table, mount or runtime state behind.
 * Real parts only: the bundled runtime, overlayfs, bridges, nftables and the embedded DNS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { command, describePrivileged, root } from '../support/privileged.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(repo, 'node_modules/.bin/tsx');
const main = join(repo, 'cli/main.ts');

describePrivileged('tsc-compose up and down on one host', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let agent: ChildProcess | undefined;
  const project = `e2e${process.pid}`;
  const table = `tsc_e2e_${process.pid}`;

  const startAgent = (): Promise<ChildProcess> => {
    // node itself (with tsx's loader), not the tsx wrapper: a SIGKILL must reach the agent.
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'agent'], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
    return new Promise((resolve, reject) => {
      let err = '';
      child.stderr?.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('listening on')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`agent exited (${code}): ${err}`)));
    });
  };

  const cli = (args: string[], timeout = 60_000) => {
    const r = spawnSync(tsx, [main, ...args], { cwd: join(dir, 'proj'), env, encoding: 'utf8', timeout });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-e2e-'));
    env = { ...process.env, TSC_COMPOSE_RUN_DIR: join(dir, 'run'), TSC_COMPOSE_STATE_DIR: join(dir, 'state'), TSC_COMPOSE_NFT_TABLE: table, COMPOSE_PROJECT_NAME: project };
    delete env['CI']; // the agent's own output is not a test
    await buildOciImage(join(dir, 'layout'), { tag: 'latest', config: { Cmd: ['sh'] } });
    spawnSync('tar', ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.']);
    await mkdir(join(dir, 'proj/html'), { recursive: true });
    await writeFile(join(dir, 'proj/html/index.html'), 'hello from web\n');
    await writeFile(
      join(dir, 'proj/compose.yaml'),
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["httpd", "-f", "-p", "80", "-h", "/www"]',
        '    volumes: ["./html:/www:ro"]',
        '    ports: ["127.0.0.1:18481:80"]',
        '    healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"], interval: 1s, retries: 5 }',
        '  client:',
        '    image: busybox',
        '    command: ["sh", "-c", "wget -qO- http://web/ && sleep 600"]',
        '    depends_on: { web: { condition: service_healthy } }',
        '',
      ].join('\n'),
    );
    agent = await startAgent();
  }, 120_000);

  afterAll(async () => {
    cli(['down', '-v']);
    agent?.kill('SIGTERM');
    await new Promise((r) => (agent?.exitCode === null ? agent.once('exit', r) : r(undefined)));
    spawnSync('nft', ['delete', 'table', 'inet', table]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('loads the image, brings the project up in dependency order, and serves it', () => {
    const load = cli(['image', 'load', '-i', join(dir, 'busybox.tar'), '--repository', 'busybox']);
    expect(load.stdout).toBe('Loaded image: docker.io/library/busybox:latest\n');

    const up = cli(['--progress', 'plain', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    const lines = up.stderr.split('\n');
    const at = (l: string) => lines.indexOf(l);
    expect(at(` Container ${project}-web-1  Healthy`)).toBeGreaterThan(at(` Container ${project}-web-1  Started`));
    expect(at(` Container ${project}-client-1  Started`)).toBeGreaterThan(at(` Container ${project}-web-1  Healthy`));

    const ps = cli(['ps', '--format', 'json']);
    const rows = ps.stdout.trim().split('\n').map((l) => JSON.parse(l) as { Service: string; State: string; Health: string });
    expect(rows.map((r) => [r.Service, r.State])).toEqual([
      ['client', 'running'],
      ['web', 'running'],
    ]);
    expect(rows.find((r) => r.Service === 'web')?.Health).toBe('healthy');

    // By name through the embedded DNS, from the client container.
    const logs = cli(['logs', '--no-log-prefix', 'client']);
    expect(logs.stdout).toBe('hello from web\n');
    // On the published port, from the host.
    const curl = spawnSync('busybox', ['wget', '-qO-', 'http://127.0.0.1:18481/'], { encoding: 'utf8' });
    expect(curl.stdout).toBe('hello from web\n');
    // exec runs inside, with the container's view.
    const hostsFile = cli(['exec', 'web', 'cat', '/etc/resolv.conf']);
    expect(hostsFile.stdout).toContain('nameserver 127.0.0.11');
  }, 180_000);

  it('loses nothing when the agent is killed: containers, logs and state come back, up converges', async () => {
    const before = cli(['ps', '-q']).stdout;
    const killed = agent;
    killed?.kill('SIGKILL');
    await new Promise((r) => killed?.once('exit', r));
    agent = await startAgent();
    expect(cli(['ps', '-q']).stdout).toBe(before);
    expect(cli(['logs', '--no-log-prefix', 'client']).stdout).toBe('hello from web\n');
    const again = cli(['--progress', 'plain', 'up', '-d']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(` Container ${project}-client-1  Running`);
    expect(cli(['ps', '-q']).stdout).toBe(before);
    expect(spawnSync('busybox', ['wget', '-qO-', 'http://127.0.0.1:18481/'], { encoding: 'utf8' }).stdout).toBe('hello from web\n');
  }, 180_000);

  it('runs a one-off container and passes its exit code on', () => {
    const r = cli(['--progress', 'quiet', 'run', '--rm', 'client', 'sh', '-c', 'echo one-off; exit 7']);
    expect(r.stdout).toBe('one-off\n');
    expect(r.status).toBe(7);
    expect(cli(['ps', '-a', '--format', 'json']).stdout).not.toContain('client-run');
  }, 120_000);

  it('down leaves nothing of the project behind', async () => {
    const down = cli(['--progress', 'plain', 'down']);
    expect(down.status, down.stderr).toBe(0);
    expect(cli(['ps', '-a', '-q']).stdout).toBe('');
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/tsc-/);
    const nft = spawnSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' });
    expect(nft.stdout).not.toMatch(/dnat|masquerade/);
    const mounts = spawnSync('mount', [], { encoding: 'utf8' }).stdout;
    expect(mounts).not.toContain(dir);
    expect(await readdir(join(dir, 'run/runtime')).catch(() => [])).toEqual([]);
    expect(await readdir(join(dir, 'state/containers')).catch(() => [])).toEqual([]);
  }, 120_000);
});
