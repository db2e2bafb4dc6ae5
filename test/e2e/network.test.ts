/**
 * The seed's tiered isolation (corpus seeds/tiered-isolation and three-tier), end to end with
 * the CLI: a web tier on `frontend` that cannot resolve or reach the database on the internal
 * `backend`, an app on both that reaches both, web's published port answering on the host
 * and from a second namespace acting as another machine; `network inspect` in Docker's shape;
 * `network connect/disconnect` changing a running container's interfaces and DNS at once;
 * `network prune`; and `down` leaving no link, rule or address behind.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createFixture, freeSubnet24, uniqueTag, waitFor, type Fixture } from '../../overlay/testing/netns-fixture.js';
import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

interface InspectedNetwork {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway: string }[] };
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

describePrivileged('tiered networks end to end', [root, command('nft'), command('ip'), command('busybox'), command('tar')], () => {
  let host: E2eHost;
  let fx: Fixture;
  let p: string;
  let backendSubnet: string;
  const tag = uniqueTag();
  const port = 20000 + (process.pid % 20000);
  const cli = (args: string[]) => host.cli(args);
  const sh = (service: string, script: string) => cli(['exec', service, 'sh', '-c', script]);
  const fetch = (service: string, target: string) => sh(service, `timeout 3 wget -q -O- http://${target}/`);
  const resolves = (service: string, name: string) => sh(service, `nslookup ${name} 127.0.0.11`).status === 0;
  const inspect = (net: string) => (JSON.parse(cli(['network', 'inspect', net]).stdout) as InspectedNetwork[])[0] as InspectedNetwork;

  beforeAll(async () => {
    fx = createFixture();
    backendSubnet = await freeSubnet24();
    const serve = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];
    host = await createE2eHost('net', {
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: busybox',
        `    command: ${JSON.stringify(serve('web'))}`,
        `    ports: ["${port}:80"]`,
        '    networks: [frontend]',
        '  app:',
        '    image: busybox',
        `    command: ${JSON.stringify(serve('app'))}`,
        '    networks: [frontend, backend]',
        '  db:',
        '    image: busybox',
        `    command: ${JSON.stringify(serve('db'))}`,
        '    networks: [backend]',
        'networks:',
        '  frontend:',
        '    driver: bridge',
        '    enable_ipv6: true',
        '  backend:',
        '    driver: bridge',
        '    internal: true',
        `    ipam: { config: [{ subnet: "${backendSubnet}" }] }`,
        '',
      ].join('\n'),
      'taken.yaml': ['services:', '  api:', '    image: busybox', '    command: ["sleep", "600"]', `    ports: ["${port + 1}:80"]`, ''].join('\n'),
    });
    p = host.project;
    const up = cli(['--progress', 'plain', 'up', '-d']);
    if (up.status !== 0) throw new Error(`up failed: ${up.stderr}`);
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
    await fx.cleanup();
  }, 120_000);

  it('keeps the web tier away from the database tier; the app reaches both', async () => {
    // up -d returns once the processes started; their servers listen a moment later.
    expect(await waitFor(async () => fetch('app', 'web').stdout === 'web\n', 10_000, 200)).toBe(true);
    expect(fetch('app', 'db').stdout).toBe('db\n');
    expect(fetch('web', 'app').stdout).toBe('app\n');
    expect(resolves('web', 'db')).toBe(false);
    const dbIp = inspect(`${p}_backend`).Containers;
    const dbAddr = Object.values(dbIp).find((c) => c.Name === `${p}-db-1`)?.IPv4Address.split('/')[0] ?? '';
    expect(dbAddr).not.toBe('');
    // Not by name, and not by address either, both ways.
    expect(fetch('web', dbAddr).status).not.toBe(0);
    const webAddr = Object.values(inspect(`${p}_frontend`).Containers).find((c) => c.Name === `${p}-web-1`)?.IPv4Address.split('/')[0] ?? '';
    expect(fetch('db', webAddr).status).not.toBe(0);
  }, 120_000);

  it('gives the IPv6-enabled tier a ULA /64: AAAA answers and ping -6 by name', () => {
    const front = inspect(`${p}_frontend`);
    expect(front.EnableIPv6).toBe(true);
    const v6 = front.IPAM.Config.find((c) => c.Subnet.includes(':'));
    expect(v6?.Subnet).toMatch(/^fd[0-9a-f]{2}:[0-9a-f:]+\/64$/);
    const web6 = sh('web', 'ip -o -6 addr show dev eth0 scope global').stdout;
    const addr = /inet6 ([0-9a-f:]+)\/64/.exec(web6)?.[1] ?? 'none';
    expect(sh('app', 'nslookup -type=AAAA web 127.0.0.11').stdout).toContain(`Address: ${addr}`);
    expect(sh('app', 'ping -6 -c 1 -W 2 web').status).toBe(0);
  }, 60_000);

  it('answers the published port on the host and from another machine', async () => {
    expect(spawnSync('busybox', ['wget', '-q', '-O-', `http://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: 5000 }).stdout).toBe('web\n');
    const m = (await freeSubnet24()).replace(/\.0\/24$/, '');
    const other = `tscm${tag}`;
    await fx.machine(other, `tsm${tag}`, `${m}.1/24`, `${m}.2/24`);
    const r = await fx.exec(other, ['busybox', 'timeout', '3', 'busybox', 'wget', '-q', '-O-', `http://${m}.1:${port}/`]);
    expect(r.stdout).toBe('web\n');
  }, 60_000);

  it('refuses a host port another process holds, naming the service and key, creating no container and no rule', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(port + 1, '0.0.0.0', r));
    const other = `${p}t`;
    try {
      const up = cli(['-f', 'taken.yaml', '-p', other, '--progress', 'plain', 'up', '-d']);
      expect(up.status).not.toBe(0);
      expect(up.stderr).toContain(`service api: ports[0]: host port ${port + 1}/tcp is already in use on the host`);
      expect(cli(['-f', 'taken.yaml', '-p', other, 'ps', '-a', '-q']).stdout).toBe('');
      expect(spawnSync('nft', ['list', 'table', 'inet', host.table], { encoding: 'utf8' }).stdout).not.toContain(`dport ${port + 1} `);
    } finally {
      await new Promise((r) => holder.close(r));
      cli(['-f', 'taken.yaml', '-p', other, 'down']);
    }
    // The web tier's own port is held by the agent: no host process can take it meanwhile.
    const again = createServer();
    const code = await new Promise<string>((r) => {
      again.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
      again.listen(port, '0.0.0.0', () => r('bound'));
    });
    if (code === 'bound') await new Promise((r) => again.close(r));
    expect(code).toBe('EADDRINUSE');
  }, 120_000);

  it('inspects a network as docker network inspect does', () => {
    const out = JSON.parse(cli(['network', 'inspect', `${p}_backend`, `${p}_frontend`]).stdout) as InspectedNetwork[];
    expect(out.map((n) => n.Name)).toEqual([`${p}_backend`, `${p}_frontend`]);
    const b = out[0] as InspectedNetwork;
    expect(b.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isNaN(Date.parse(b.Created))).toBe(false);
    expect([b.Scope, b.Driver, b.Internal, b.Attachable, b.EnableIPv6]).toEqual(['local', 'bridge', true, false, false]);
    expect(b.IPAM.Config).toEqual([{ Subnet: backendSubnet, Gateway: backendSubnet.replace(/0\/24$/, '1') }]);
    expect(b.Labels['com.docker.compose.network']).toBe('backend');
    expect(Object.values(b.Containers).map((c) => c.Name).sort()).toEqual([`${p}-app-1`, `${p}-db-1`]);
    const ps = JSON.parse(`[${cli(['ps', '--format', 'json']).stdout.trim().split('\n').join(',')}]`) as { ID: string; Name: string }[];
    const dbId = ps.find((c) => c.Name === `${p}-db-1`)?.ID ?? 'none';
    const key = Object.keys(b.Containers).find((k) => k.startsWith(dbId));
    expect(key).toBeDefined();
    const db = b.Containers[key ?? ''];
    expect(db?.IPv4Address).toMatch(new RegExp(`^${backendSubnet.replace(/0\/24$/, '').replace(/\./g, '\\.')}\\d+/24$`));
    expect(db?.MacAddress).toMatch(/^02:42:/);
    // By id prefix too.
    expect(inspect(b.Id.slice(0, 12)).Name).toBe(`${p}_backend`);
    expect(cli(['network', 'inspect', `${p}_nope`]).status).not.toBe(0);
  }, 60_000);

  it('connects and disconnects a running container live, with an alias and a chosen address', async () => {
    const ip = backendSubnet.replace(/0\/24$/, '77');
    const c = cli(['network', 'connect', '--alias', `front${tag}`, '--ip', ip, `${p}_backend`, `${p}-web-1`]);
    expect(c.status, c.stderr).toBe(0);
    expect(sh('web', 'ip -o -4 addr show').stdout).toContain(`${ip}/24`);
    // /etc/hosts names the container at its new address too, as Docker rewrites it
    expect(sh('web', 'cat /etc/hosts').stdout).toMatch(new RegExp(`^${ip.replaceAll('.', '\\.')}\\s`, 'm'));
    expect(fetch('web', 'db').stdout).toBe('db\n');
    expect(resolves('db', `front${tag}`)).toBe(true);
    expect(sh('db', `nslookup front${tag} 127.0.0.11`).stdout).toContain(ip);
    expect(Object.values(inspect(`${p}_backend`).Containers).map((x) => x.Name)).toContain(`${p}-web-1`);
    // Twice is a conflict, as in Docker.
    expect(cli(['network', 'connect', `${p}_backend`, `${p}-web-1`]).stderr).toMatch(/already exists in network/);

    const d = cli(['network', 'disconnect', `${p}_backend`, `${p}-web-1`]);
    expect(d.status, d.stderr).toBe(0);
    expect(sh('web', 'ip -o -4 addr show').stdout).not.toContain(ip);
    expect(sh('web', 'cat /etc/hosts').stdout).not.toContain(ip);
    expect(await waitFor(async () => !resolves('db', `front${tag}`), 5000)).toBe(true);
    expect(resolves('web', 'db')).toBe(false);
    expect(fetch('web', 'app').stdout).toBe('app\n');
    expect(cli(['network', 'disconnect', `${p}_backend`, `${p}-web-1`]).stderr).toMatch(/is not connected to network/);
  }, 120_000);

  it('prunes only the networks nothing uses', () => {
    const spare = `spare${tag}`;
    expect(cli(['network', 'create', '--label', `t=${tag}`, spare]).status).toBe(0);
    const pr = cli(['network', 'prune', '-f', '--filter', `label=t=${tag}`]);
    expect(pr.stdout).toBe(`Deleted Networks:\n${spare}\n`);
    expect(cli(['network', 'ls', '-q']).stdout.split('\n')).toEqual(expect.arrayContaining([`${p}_backend`, `${p}_frontend`]));
    expect(cli(['network', 'ls', '-q']).stdout).not.toContain(spare);
  }, 60_000);

  it('down leaves no link, rule or address behind', () => {
    const gateways = [inspect(`${p}_frontend`), inspect(`${p}_backend`)].flatMap((n) => n.IPAM.Config.map((c) => c.Gateway));
    expect(gateways).toHaveLength(3);
    const down = cli(['--progress', 'plain', 'down']);
    expect(down.status, down.stderr).toBe(0);
    const links = spawnSync('ip', ['link', 'show'], { encoding: 'utf8' }).stdout;
    expect(links).not.toContain(`${p}_frontend`);
    expect(links).not.toContain(`${p}_backend`);
    const addrs = spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
    for (const g of gateways) expect(addrs).not.toContain(` ${g}/`);
    const nft = spawnSync('nft', ['list', 'table', 'inet', host.table], { encoding: 'utf8' });
    expect(nft.stdout).not.toMatch(/dnat|masquerade|tsc-/);
    expect(cli(['network', 'ls', '-q']).stdout).toBe('');
  }, 120_000);
});
