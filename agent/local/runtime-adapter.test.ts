import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildBusyboxRootfs } from '../../fixtures/busybox-rootfs.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { bundledRuntimePath } from '../runtime/bundled-runtime-path.js';
import { waitExit } from '../runtime/monitor-client.js';
import { ANNOTATIONS, defaultSpec } from '../runtime/spec.js';
import { writeBundle } from '../runtime/write-bundle.js';
import { createRuntimeAdapter, signalNumber } from './runtime-adapter.js';

describe('signalNumber', () => {
  it('reads a signal as the runtime does: with or without SIG, any case, or a number from 1 to 64', () => {
    expect(['SIGTERM', 'TERM', 'term', 'SigKill', '9', '64'].map(signalNumber)).toEqual([15, 15, 15, 9, 9, 64]);
    expect(['0', '65', 'SIGNOPE', '', '-1'].map(signalNumber)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describePrivileged('runtime adapter on the bundled runtime', [root, command('busybox')], () => {
  let dir: string;
  beforeAll(async () => {
    // A deep state directory: with a 64-hex id the control socket's path passes 108 bytes.
    dir = await mkdtemp(join(tmpdir(), `tsc-adapter-${'x'.repeat(40)}-`));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a container to its exit, with its output in the json log, under a long state path', async () => {
    const id = 'a'.repeat(64);
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs'));
    const log = join(dir, 'c-json.log');
    const spec = defaultSpec({ args: ['sh', '-c', 'echo hello; exit 4'], rootfs });
    spec.annotations = { [ANNOTATIONS.logPath]: log };
    const bundle = await writeBundle(join(dir, 'bundle'), spec);
    const rt = createRuntimeAdapter({ binary: bundledRuntimePath(), root: join(dir, 'runtime-state-root') });
    expect(join(dir, 'runtime-state-root', id, 'ctl.sock').length).toBeGreaterThan(108);
    await rt.create(id, bundle, { logPath: log });
    const exited = waitExit({ root: join(dir, 'runtime-state-root'), id });
    await rt.start(id);
    expect((await rt.waitExit(id)).exitCode).toBe(4);
    expect((await exited).exitCode).toBe(4);
    expect((await readFile(log, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { log: string }).log)).toEqual(['hello\n']);
    await rt.delete(id, { force: true });
    expect(await rt.state(id)).toBeUndefined();
  });

  it('execs as a user named in the container\'s passwd, and with every capability when privileged', async () => {
    const id = `exec-${process.pid}`;
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs-exec'));
    const spec = defaultSpec({ args: ['sleep', '60'], rootfs });
    spec.annotations = { [ANNOTATIONS.logPath]: join(dir, 'exec-json.log') };
    const bundle = await writeBundle(join(dir, 'bundle-exec'), spec);
    const rt = createRuntimeAdapter({ binary: bundledRuntimePath(), root: join(dir, 'rs') });
    await rt.create(id, bundle, { logPath: join(dir, 'exec-json.log') });
    await rt.start(id);
    try {
      expect((await rt.exec(id, { args: ['id', '-u'], user: 'nobody' })).stdout.trim()).toBe('65534');
      const capEff = async (privileged: boolean) => {
        const r = await rt.exec(id, { args: ['grep', 'CapEff', '/proc/self/status'], privileged, env: ['HOOK=1'], cwd: '/tmp' });
        return BigInt(`0x${r.stdout.trim().split(/\s+/)[1] ?? '0'}`);
      };
      const plain = await capEff(false);
      const all = await capEff(true);
      expect(all & plain).toBe(plain);
      expect(all & (1n << 21n)).toBe(1n << 21n); // CAP_SYS_ADMIN, not in Docker's defaults
      expect(plain & (1n << 21n)).toBe(0n);
      const inside = await rt.exec(id, { args: ['sh', '-c', 'echo $HOOK $(pwd)'], privileged: true, env: ['HOOK=1'], cwd: '/tmp' });
      expect(inside.stdout.trim()).toBe('1 /tmp');

      // An attached exec with a terminal: its first size, then a resize, reach the process.
      const session = await rt.execAttach?.(id, { args: ['sh', '-c', 'stty size; read x; stty size; exit 6'], tty: true, stdin: true, rows: 20, cols: 70 });
      if (session === undefined) throw new Error('the adapter has no execAttach');
      let out = '';
      session.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 10_000;
      while (!out.includes('20 70') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      session.resize?.(40, 100);
      session.stdin.write('go\n');
      expect(await session.exit).toBe(6);
      expect(out.replace(/\r/g, '').split('\n').filter((l) => /^\d+ \d+$/.test(l))).toEqual(['20 70', '40 100']);
    } finally {
      await rt.delete(id, { force: true });
    }
  });

  it('signals the containers it started itself, any other through the runtime, and an exited one not at all', async () => {
    const rootfs = await buildBusyboxRootfs(join(dir, 'rootfs-kill'));
    const stateRoot = join(dir, 'kill-state-root');
    const rt = createRuntimeAdapter({ binary: bundledRuntimePath(), root: stateRoot });
    // A restarted agent's adapter: it started nothing, so it knows no process.
    const restarted = createRuntimeAdapter({ binary: bundledRuntimePath(), root: stateRoot });
    const ids = ['k'.repeat(64), 'r'.repeat(64)];
    try {
      for (const id of ids) {
        const spec = defaultSpec({ args: ['sh', '-c', 'trap "exit 7" USR1; trap "exit 9" TERM; while :; do sleep 0.05; done'], rootfs });
        await rt.run?.(id, await writeBundle(join(dir, `bundle-${id[0] ?? ''}`), spec), { logPath: join(dir, `${id[0] ?? ''}-json.log`) });
      }
      const [own, other] = ids as [string, string];
      await rt.kill(own, 'USR1');
      expect((await rt.waitExit(own)).exitCode).toBe(7);
      await restarted.kill(other, 'SIGTERM');
      expect((await rt.waitExit(other)).exitCode).toBe(9);
      for (const adapter of [rt, restarted]) await expect(adapter.kill(own, 'KILL')).rejects.toThrow(/not running/);
    } finally {
      for (const id of ids) await rt.delete(id, { force: true });
    }
  });
});
