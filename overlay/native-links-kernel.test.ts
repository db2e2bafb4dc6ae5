/**
 * tsc-spawn's `@links` built-in against the `sh` script it replaces: the same connect (a
 * namespace, a veth with MTU and MAC on a bridge, hairpin and isolated, IPv4 and IPv6 nodad
 * addresses, default routes, a sysctl, the resolver table with several server ports) made once
 * each way must leave the kernel holding the same things, and the same disconnect must leave
 * nothing. A failing op stops the rest and names itself.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TscError } from '../lib/errors.js';
import { runProgram, usesSpawnHelper } from '../lib/run-program.js';
import { command, describePrivileged, root } from '../test/support/privileged.js';
import { type LinkOp, planAttach, planBridge } from './link-plan.js';
import { applyLinkOpsByScript } from './link-shell.js';
import { renderNativeLinkOps } from './native-link-ops.js';
import { renderResolverScript } from './nft-ruleset.js';
import { runCommand } from './run-command.js';
import { freeSubnet24, uniqueTag } from './testing/netns-fixture.js';

const run = promisify(execFile);

type Json = Record<string, unknown>;

async function json(argv: string[]): Promise<Json[]> {
  const { stdout } = await run(argv[0] as string, argv.slice(1));
  return JSON.parse(stdout === '' ? '[]' : stdout) as Json[];
}

/** Drop what names, indexes, random MACs, bridge ids and timers make differ between two equal setups. */
function normalLink(l: Json, dropAddress: boolean): Json {
  const out: Json = { ...l };
  for (const k of ['ifindex', 'ifname', 'link', 'link_index', 'link_netnsid', 'master', 'altnames', 'operstate']) delete out[k];
  if (dropAddress) delete out['address'];
  const info = out['linkinfo'] as Json | undefined;
  const slave = info?.['info_slave_data'] as Json | undefined;
  if (info !== undefined && slave !== undefined) {
    const s = { ...slave };
    for (const k of Object.keys(s)) if (/timer|designated|bridge_id|root_id|^state$/.test(k)) delete s[k];
    out['linkinfo'] = { ...info, info_slave_data: s };
  }
  // Link-local IPv6 comes from the MAC and appears when DAD allows: not what we set.
  const addrs = out['addr_info'] as Json[] | undefined;
  if (addrs !== undefined) out['addr_info'] = addrs.filter((a) => a['scope'] !== 'link');
  return out;
}

function stripHandles(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripHandles);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Json).filter(([k]) => k !== 'handle' && k !== 'metainfo').map(([k, x]) => [k, stripHandles(x)]));
}

function mountLine(path: string): string | undefined {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === path);
  if (line === undefined) return undefined;
  // Mount ids, the namespace's inode (root field) and the peer group number differ.
  const f = line.split(' ');
  return [f[2], ...f.slice(5)].join(' ').replace(/(shared|master):\d+/g, '$1:N');
}

async function netnsListEntry(name: string): Promise<string | undefined> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .find((l) => l.split(' ')[0] === name)
    ?.replace(name, 'NS')
    .replace(/\(id: \d+\)/, '(id: N)');
}

describePrivileged('the @links built-in against the sh script', [root, command('ip'), command('nft'), command('nsenter')], () => {
  const tag = uniqueTag();
  const sides = ['a', 'b', 'c'].map((s) => ({ ns: `tscn-${tag}-${s}`, bridge: `tscnb${tag}${s}`, veth: `tscnv${tag}${s}` }));
  let subnet = '';

  beforeAll(async () => {
    subnet = (await freeSubnet24()).replace(/\.0\/24$/, '');
    for (const s of sides) {
      await run('ip', ['link', 'add', s.bridge, 'type', 'bridge']);
      await run('ip', ['link', 'set', s.bridge, 'up']);
    }
  });

  afterAll(async () => {
    for (const s of sides) {
      await run('ip', ['link', 'del', s.veth]).catch(() => undefined);
      await run('ip', ['link', 'del', s.bridge]).catch(() => undefined);
      await run('ip', ['netns', 'del', s.ns]).catch(() => undefined);
    }
  });

  function connectOps(s: { ns: string; bridge: string; veth: string }): LinkOp[] {
    const path = `/run/netns/${s.ns}`;
    return [
      { kind: 'ip', args: ['netns', 'add', s.ns] },
      ...planAttach(
        {
          netns: path,
          bridge: s.bridge,
          hostVeth: s.veth,
          ifname: 'eth0',
          mtu: 1400,
          mac: '02:42:0a:d5:00:02',
          addresses: [`${subnet}.2/24`, 'fd00:d5:1::2/64'],
          isolated: true,
          gateways: [`${subnet}.1`, 'fd00:d5:1::1'],
        },
        undefined,
        [],
      ),
      {
        kind: 'nft',
        netns: path,
        script: renderResolverScript({ table: 'tsc_dns', server: `${subnet}.1`, serverPort: 10053, serverPorts: 3, source: `${subnet}.2`, fresh: true }),
      },
    ];
  }

  async function snapshot(s: { ns: string; veth: string }): Promise<Json> {
    const host = await json(['ip', '-d', '-j', 'link', 'show', 'dev', s.veth]);
    const inside = await json(['ip', '-n', s.ns, '-d', '-j', 'addr', 'show']);
    const nft = JSON.parse((await run('ip', ['netns', 'exec', s.ns, 'nft', '-j', 'list', 'ruleset'])).stdout) as unknown;
    return {
      host: host.map((l) => normalLink(l, true)),
      inside: inside.map((l) => normalLink(l, false)),
      routes4: await json(['ip', '-n', s.ns, '-j', '-4', 'route', 'show', 'table', 'main']),
      routes6: await json(['ip', '-n', s.ns, '-j', '-6', 'route', 'show', 'table', 'main']),
      routeLocalnet: (await run('ip', ['netns', 'exec', s.ns, 'cat', '/proc/sys/net/ipv4/conf/eth0/route_localnet'])).stdout,
      nft: stripHandles(nft),
      netnsList: await netnsListEntry(s.ns),
      mount: mountLine(`/run/netns/${s.ns}`),
    };
  }

  it('makes what the script makes, and its disconnect leaves nothing', async () => {
    expect(usesSpawnHelper()).toBe(true);
    const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
    await applyLinkOpsByScript(connectOps(a));
    const text = renderNativeLinkOps(connectOps(b));
    expect(text).toBeDefined();
    await runCommand(['@links'], { input: text });

    const [sa, sb] = await Promise.all([snapshot(a), snapshot(b)]);
    expect(sb).toEqual(sa);
    // What a user would check, on the built-in's side.
    const port = (sb['host'] as Json[])[0]?.['linkinfo'] as Json;
    expect(port['info_slave_data']).toMatchObject({ hairpin: true, isolated: true });
    expect((sb['host'] as Json[])[0]).toMatchObject({ mtu: 1400, flags: expect.arrayContaining(['UP']) as unknown });
    const eth0 = (sb['inside'] as Json[]).find((l) => l['address'] === '02:42:0a:d5:00:02');
    expect(eth0?.['mtu']).toBe(1400);
    expect(eth0?.['addr_info']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ local: `${subnet}.2`, prefixlen: 24 }),
        expect.objectContaining({ local: 'fd00:d5:1::2', prefixlen: 64, nodad: true }),
      ]),
    );
    expect(sb['routes4']).toEqual(expect.arrayContaining([expect.objectContaining({ dst: 'default', gateway: `${subnet}.1`, dev: 'eth0' })]));
    expect(sb['routes6']).toEqual(expect.arrayContaining([expect.objectContaining({ dst: 'default', gateway: 'fd00:d5:1::1', dev: 'eth0' })]));
    expect(sb['routeLocalnet']).toBe('1\n');
    expect(JSON.stringify(sb['nft'])).toContain('10055');
    expect(sb['mount']).toMatch(/ nsfs /);
    expect(sb['netnsList']).toMatch(/^NS/);

    const disconnect = (s: typeof a): LinkOp[] => [
      { kind: 'ip', args: ['link', 'del', s.veth] },
      { kind: 'ip', args: ['netns', 'del', s.ns] },
    ];
    await applyLinkOpsByScript(disconnect(a));
    await runCommand(['@links'], { input: native(disconnect(b)) });
    for (const s of [a, b]) {
      await expect(run('ip', ['link', 'show', 'dev', s.veth])).rejects.toThrow();
      expect(existsSync(`/run/netns/${s.ns}`)).toBe(false);
      expect(mountLine(`/run/netns/${s.ns}`)).toBeUndefined();
      expect(await netnsListEntry(s.ns)).toBeUndefined();
    }
  });

  it("makes a network's bridge as the script does, its altname a nicety that may fail", async () => {
    const [a, b] = [`tscnx${tag}a`, `tscnx${tag}b`];
    const taken = `tscn-${tag}-alt`;
    const ops = (br: string, altname: string): LinkOp[] =>
      planBridge({ bridge: br, altname, mtu: 1450, mac: '02:42:0a:d5:00:01', addresses: [`${subnet}.1/24`, 'fd00:d5:9::1/64'], ipv6: true }, undefined);
    try {
      await applyLinkOpsByScript(ops(a, `${taken}-a`));
      await runCommand(['@links'], { input: native(ops(b, `${taken}-b`)) });
      const show = async (br: string) => {
        const l = (await json(['ip', '-d', '-j', 'addr', 'show', 'dev', br]))[0] as Json;
        const info = { ...(l['linkinfo'] as Json) };
        const data = { ...(info['info_data'] as Json) };
        for (const k of Object.keys(data)) if (/timer|bridge_id|root_id|^stp_state$/.test(k)) delete data[k];
        const sysctl = (await run('cat', [`/proc/sys/net/ipv4/conf/${br}/route_localnet`])).stdout;
        const addrs = ((l['addr_info'] as Json[] | undefined) ?? []).map(({ label: _label, ...rest }) => rest);
        return { ...normalLink({ ...l, addr_info: addrs }, false), linkinfo: { ...info, info_data: data }, altnames: l['altnames'], sysctl };
      };
      const [sa, sb] = await Promise.all([show(a), show(b)]);
      expect({ ...sb, altnames: undefined }).toEqual({ ...sa, altnames: undefined });
      expect(sa['altnames']).toEqual([`${taken}-a`]);
      expect(sb['altnames']).toEqual([`${taken}-b`]);
      expect(sb).toMatchObject({ mtu: 1450, address: '02:42:0a:d5:00:01', sysctl: '1\n' });
      // An altname another link holds: the optional step fails quietly, the rest goes on.
      await run('ip', ['link', 'del', b]);
      const again = await runProgram(['@links'], { input: native(ops(b, `${taken}-a`)) });
      expect(again).toMatchObject({ code: 0 });
      expect(again.stderr.toString()).toBe('');
      expect((await json(['ip', '-j', 'link', 'show', 'dev', b]))[0]?.['flags']).toEqual(expect.arrayContaining(['UP']));
    } finally {
      for (const br of [a, b]) await run('ip', ['link', 'del', br]).catch(() => undefined);
    }
  });

  it('runs concurrent requests side by side, each in its own namespaces', async () => {
    const many = Array.from({ length: 6 }, (_, i) => ({ ns: `tscn-${tag}-p${i}`, bridge: (sides[0] as (typeof sides)[0]).bridge, veth: `tscnv${tag}${i}` }));
    try {
      await Promise.all(many.map((s) => runCommand(['@links'], { input: native(connectOps(s)) })));
      for (const s of many) {
        const eth0 = (await json(['ip', '-n', s.ns, '-j', 'addr', 'show', 'dev', 'eth0']))[0];
        expect((eth0?.['addr_info'] as Json[]).map((a) => a['local'])).toContain(`${subnet}.2`);
        expect((await json(['ip', '-j', 'link', 'show', 'dev', s.veth]))[0]?.['master']).toBe(s.bridge);
      }
      await Promise.all(
        many.map((s) =>
          runCommand(['@links'], {
            input: native([
              { kind: 'ip', args: ['link', 'del', s.veth] },
              { kind: 'ip', args: ['netns', 'del', s.ns] },
            ]),
          }),
        ),
      );
      for (const s of many) expect(existsSync(`/run/netns/${s.ns}`)).toBe(false);
    } finally {
      for (const s of many) {
        await run('ip', ['link', 'del', s.veth]).catch(() => undefined);
        await run('ip', ['netns', 'del', s.ns]).catch(() => undefined);
      }
    }
  });

  it('stops at the first failing op, naming it and the reason, and runs none after it', async () => {
    const c = sides[2] as (typeof sides)[0];
    // The host side's name is taken (by the bridge): the veth cannot be made.
    const ops = connectOps({ ...c, veth: c.bridge });
    const err = await runCommand(['@links'], { input: native(ops) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).code).toBe('ERR_NETWORK');
    expect((err as TscError).message).toContain(`@links: veth ${c.bridge} eth0 1400 02:42:0a:d5:00:02 /run/netns/${c.ns}: RTNETLINK answers: File exists`);
    // The namespace (the op before) was made; `lo` inside (an op after) was not brought up.
    const lo = (await json(['ip', '-n', c.ns, '-j', 'link', 'show', 'lo']))[0];
    expect(lo?.['flags']).not.toContain('UP');
    expect((await json(['ip', '-n', c.ns, '-j', 'link', 'show'])).map((l) => l['ifname'])).toEqual(['lo']);
    await run('ip', ['netns', 'del', c.ns]);
  });

  it('answers a delete once the devices are gone from `ip link` and /sys, their names free at once', async () => {
    const ns = `tscn-${tag}-del`;
    const br = `tscnd${tag}`;
    const veths = ['1', '2', '3', 'k'].map((i) => `tscnd${tag}${i}`);
    const group = String(4000 + Math.floor(Math.random() * 1000));
    const gone = async (dev: string) => !existsSync(`/sys/class/net/${dev}`) && (await run('ip', ['link', 'show', 'dev', dev]).then(() => false, () => true));
    try {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'add', br, 'type', 'bridge']);
      for (const [i, v] of veths.entries()) {
        await run('ip', ['link', 'add', v, 'type', 'veth', 'peer', 'name', `eth${i}`, 'netns', ns]);
        await run('ip', ['link', 'set', v, 'master', br, 'up']);
      }
      // Three of the four in the batch's group; the fourth is a bystander.
      for (const v of veths.slice(0, 3)) await run('ip', ['link', 'set', v, 'group', group]);
      await runCommand(['@links'], { input: `group-del ${group}\n` });
      for (const v of veths.slice(0, 3)) expect(await gone(v)).toBe(true);
      expect(existsSync(`/sys/class/net/${veths[3]}`)).toBe(true);

      await runCommand(['@links'], { input: `link-del ${br}\n` });
      expect(await gone(br)).toBe(true);
      // The name is free at once: a bridge of the same name can be made again.
      await run('ip', ['link', 'add', br, 'type', 'bridge']);
      expect(existsSync(`/sys/class/net/${br}`)).toBe(true);
    } finally {
      for (const d of [...veths, br]) await run('ip', ['link', 'del', d]).catch(() => undefined);
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  });

  it("reports a delete the kernel refuses, whether it was sent aside or waited for", async () => {
    // `lo` is in /sys (the delete is sent by a child) and cannot be deleted.
    await expect(runCommand(['@links'], { input: 'link-del lo\n' })).rejects.toThrow('@links: link-del lo: RTNETLINK answers: Operation not supported');
    expect(existsSync('/sys/class/net/lo')).toBe(true);
    // A group with no device has nothing to watch: the delete is waited for, and fails as ip's.
    await expect(runCommand(['@links'], { input: 'group-del 3999\n' })).rejects.toThrow('@links: group-del 3999: RTNETLINK answers: No such device');
    await expect(runCommand(['@links'], { input: `link-del tscnnone${tag}\n` })).rejects.toThrow(`Cannot find device "tscnnone${tag}"`);
  });

  it('runs the host\'s nft commands in the helper itself (@nft), output and errors per command', async () => {
    const table = `tscnft${tag}`;
    try {
      await runCommand(['@nft'], { input: `table inet ${table} {\n  chain c { type filter hook forward priority 0; policy accept; }\n}\n` });
      const list = () => runCommand(['@nft', '-j'], { input: `list table inet ${table}` });
      const first = await list();
      expect(JSON.stringify(JSON.parse(first.stdout))).toContain(`"name":"${table}"`);
      // each answer holds its own command's output only
      expect((await list()).stdout).toBe(first.stdout);
      // nft's own words for a mistake, and a non-zero status
      await expect(runCommand(['@nft'], { input: `add rule inet ${table} c bogus\n` })).rejects.toThrow(/@nft failed \(exit 1\): Error: syntax error/);
      await runCommand(['@nft'], { input: `delete table inet ${table}\n` });
      expect((await run('nft', ['list', 'tables'])).stdout).not.toContain(table);
      await expect(list()).rejects.toThrow(/No such file or directory/);
    } finally {
      await run('nft', ['delete', 'table', 'inet', table]).catch(() => undefined);
    }
    // Without libnftables the helper says it cannot run it, so the caller runs `nft` instead.
    const bin = join(import.meta.dirname, '..', 'agent', 'runtime', 'native', 'build', 'tsc-spawn');
    expect(await viaSeparateHelper(bin, 'list tables', { TSC_SPAWN_NFT: 'exec' }, ['@nft'])).toEqual({ code: 127, stderr: 'cannot run @nft: libnftables cannot be loaded\n' });
  });

  it('runs `nft -f -` when libnftables is not loaded, and reports its error', async () => {
    const bin = join(import.meta.dirname, '..', 'agent', 'runtime', 'native', 'build', 'tsc-spawn');
    const c = sides[2] as (typeof sides)[0];
    const ns = `/run/netns/${c.ns}`;
    const script = renderResolverScript({ table: 'tsc_dns', server: `${subnet}.1`, serverPort: 10053, serverPorts: 2, source: `${subnet}.2`, fresh: true });
    const good = native([
      { kind: 'ip', args: ['netns', 'add', c.ns] },
      { kind: 'nft', netns: ns, script },
    ]);
    const r = await viaSeparateHelper(bin, good, { TSC_SPAWN_NFT: 'exec' });
    expect(r).toEqual({ code: 0, stderr: '' });
    expect((await run('ip', ['netns', 'exec', c.ns, 'nft', 'list', 'ruleset'])).stdout).toContain('10.');
    const bad = native([{ kind: 'nft', netns: ns, script: 'table ip tsc_dns {\n  chain x { bogus }\n}\n' }]);
    const failed = await viaSeparateHelper(bin, bad, { TSC_SPAWN_NFT: 'exec' });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('Error:');
    expect(failed.stderr).toContain('@links: nft');
    // The library reports the same mistake the same way through the shared helper.
    await expect(runCommand(['@links'], { input: bad })).rejects.toThrow(/@links: nft \d+: .*Error:/s);
    await run('ip', ['netns', 'del', c.ns]);
  });
});

describe('a built-in in tsc-spawn', () => {
  it("holds none of the helper's other pipes: a program fed stdin beside a running @links still ends", async () => {
    expect(usesSpawnHelper()).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'tscnl-'));
    const fifo = join(dir, 'hold');
    await run('mkfifo', [fifo]);
    // `enter FIFO` blocks in open() until a writer comes: a @links that stays running.
    const input = 'x'.repeat(1 << 20);
    const cat = runProgram(['cat'], { input });
    const held = runProgram(['@links'], { input: `enter ${fifo}\n` });
    let timer: NodeJS.Timeout | undefined;
    try {
      // Were cat's stdin pipe open in the @links child too, cat would wait for its end.
      const r = await Promise.race([cat, new Promise<undefined>((res) => (timer = setTimeout(res, 10_000, undefined)))]);
      expect(r?.stdout.length).toBe(input.length);
    } finally {
      clearTimeout(timer);
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    }
    const h = await held;
    expect(h.code).toBe(1);
    expect(h.stderr.toString()).toBe(`@links: enter ${fifo}: setns: Invalid argument\n`);
    rmSync(dir, { recursive: true });
  });
});

/** The built-in's input for ops it must know. */
function native(ops: LinkOp[]): string {
  const text = renderNativeLinkOps(ops);
  if (text === undefined) throw new Error(`no @links form for ${JSON.stringify(ops)}`);
  return text;
}

/** One `@links` request to a tsc-spawn of its own (with its own environment), by its protocol. */
function viaSeparateHelper(bin: string, input: string, env: Record<string, string>, argv: readonly string[] = ['@links']): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const strings = Buffer.from(`\0${argv.map((a) => `${a}\0`).join('')}`);
    const body = Buffer.from(input);
    const head = Buffer.alloc(20);
    head.writeUInt32LE(16 + strings.length + body.length, 0);
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(argv.length, 8);
    head.writeUInt32LE(body.length, 12);
    head.writeUInt32LE(0, 16);
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', () => {
      const all = Buffer.concat(out);
      if (all.length < 20) return reject(new Error('tsc-spawn gave no response'));
      const outLen = all.readUInt32LE(12);
      const errLen = all.readUInt32LE(16);
      resolve({ code: all.readInt32LE(8), stderr: all.subarray(20 + outLen, 20 + outLen + errLen).toString() });
    });
    child.stdin.end(Buffer.concat([head, strings, body]));
  });
}
