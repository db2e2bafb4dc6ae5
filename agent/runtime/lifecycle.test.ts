/**
 * create / start / state / kill / pause / resume / delete, detached, under runc and under
 * tsc-runtime: the same states are seen, signals arrive, and delete leaves no process, cgroup,
 * mount or state behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { leftoverCgroups, leftoverMounts, RUNC, setupHarness, testSpec, uniqueId } from './testing/harness.js';
import type { Harness, Runtime } from './testing/harness.js';
import type { Spec } from './spec.js';
import { writeBundle } from './write-bundle.js';

/** Polls until the condition holds (5 s at most). */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Running, or at least not yet a zombie (runc leaves its exited init to whoever reaps orphans). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describePrivileged('container lifecycle', [root, command(RUNC), command('cc'), command('make')], () => {
  let h: Harness;
  let outDir: string;
  beforeAll(async () => {
    h = await setupHarness();
    outDir = join(h.dir, 'out');
    await mkdir(outDir, { recursive: true });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  async function created(rt: Runtime, args: string[], edit: (s: Spec) => void = () => {}): Promise<{ id: string; bundle: string }> {
    const id = h.track(rt, uniqueId(rt.name === 'runc' ? 'r' : 't'));
    const bundle = join(h.dir, 'bundles', id);
    await mkdir(bundle, { recursive: true });
    const spec = testSpec(h, id, args);
    edit(spec);
    await writeBundle(bundle, spec);
    await rt.client.create(id, { bundle });
    return { id, bundle };
  }

  async function expectGone(rt: Runtime, id: string, pid: number, bundle: string): Promise<void> {
    await expect(rt.client.state(id)).rejects.toSatisfy((e: unknown) => isTscError(e, 'ERR_NOT_FOUND'));
    expect(pidAlive(pid)).toBe(false);
    expect(leftoverCgroups(id)).toEqual([]);
    expect(await leftoverMounts(bundle)).toEqual([]);
    expect(existsSync(join(rt.root, id))).toBe(false);
    await rm(bundle, { recursive: true, force: true });
  }

  for (const name of ['runc', 'tsc-runtime'] as const) {
    describe(name, () => {
      const rt = (): Runtime => (name === 'runc' ? h.runc : h.ours);

      it('goes created → running → stopped by SIGKILL, and delete leaves nothing', async () => {
        const { id, bundle } = await created(rt(), ['sleep', '1000']);
        const st = await rt().client.state(id);
        expect(st).toMatchObject({ id, status: 'created', bundle });
        expect(st.pid).toBeGreaterThan(0);
        expect(pidAlive(st.pid)).toBe(true);
        await rt().client.start(id);
        expect((await rt().client.state(id)).status).toBe('running');
        await expect(rt().client.delete(id)).rejects.toThrow(/not stopped/);
        await rt().client.kill(id, 'KILL');
        const stopped = await rt().client.waitStopped(id);
        expect(stopped.status).toBe('stopped');
        if (name === 'tsc-runtime') expect(stopped.exitStatus).toBe(137);
        await rt().client.delete(id);
        await expectGone(rt(), id, st.pid, bundle);
      });

      it('delivers SIGTERM to a process that handles it', async () => {
        const { id, bundle } = await created(rt(), ['sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.05; done']);
        await rt().client.start(id);
        const pid = (await rt().client.state(id)).pid;
        // as PID 1 the shell ignores SIGTERM until its trap is set: wait for the shell (runc's init
        // catches signals too until it execs) and for its trap
        await until(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sh');
        await until(() => (BigInt(`0x${/SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0'}`) & (1n << 14n)) !== 0n);
        await rt().client.kill(id, 'SIGTERM');
        const stopped = await rt().client.waitStopped(id);
        if (name === 'tsc-runtime') expect(stopped.exitStatus).toBe(42);
        await rt().client.delete(id);
        await expectGone(rt(), id, pid, bundle);
      });

      it('pauses and resumes', async () => {
        const { id, bundle } = await created(rt(), ['sleep', '1000']);
        await rt().client.start(id);
        await rt().client.pause(id);
        expect((await rt().client.state(id)).status).toBe('paused');
        await rt().client.resume(id);
        const st = await rt().client.state(id);
        expect(st.status).toBe('running');
        await rt().client.delete(id, { force: true });
        await expectGone(rt(), id, st.pid, bundle);
      });

      it('execs a process that joins the container and keeps its security settings', async () => {
        const { id, bundle } = await created(rt(), ['sleep', '1000'], (s) => {
          s.mounts?.push({ destination: '/out', type: 'bind', source: outDir, options: ['rbind', 'rw'] });
        });
        await rt().client.start(id);
        // runc's start returns before its init has exec'ed: wait for the process itself
        const initPid = (await rt().client.state(id)).pid;
        await until(() => readFileSync(`/proc/${initPid}/comm`, 'utf8').trim() === 'sleep');
        const file = join(outDir, `${id}.txt`);
        const fd = openSync(file, 'w');
        try {
          const code = await rt().client.exec(id, ['sh', '-c', 'id; hostname; grep -E "^Cap(Eff|Bnd)" /proc/self/status; cat /proc/1/comm; echo "$GREETING"; pwd; exit 4'], {
            env: ['GREETING=hello'],
            cwd: '/tmp',
            user: '1000:1000',
            stdout: fd,
            stderr: fd,
          });
          expect(code).toBe(4);
        } finally {
          closeSync(fd);
        }
        expect(readFileSync(file, 'utf8')).toBe('uid=1000(app) gid=1000(app)\nbox\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\nsleep\nhello\n/tmp\n');
        await expect(rt().client.exec(id, ['nosuchcommand'])).rejects.toThrow('exec: "nosuchcommand": executable file not found in $PATH');
        if (name === 'tsc-runtime') {
          // exec --tty relayed through plain stdio (runc 1.1 wants the caller's own terminal)
          const ttyFile = join(outDir, `${id}-tty.txt`);
          const tfd = openSync(ttyFile, 'w');
          try {
            expect(await rt().client.exec(id, ['sh', '-c', 'tty; [ -t 1 ] && echo out-is-tty; exit 3'], { tty: true, stdout: tfd, stderr: tfd })).toBe(3);
          } finally {
            closeSync(tfd);
          }
          expect(readFileSync(ttyFile, 'utf8')).toBe('/dev/pts/0\r\nout-is-tty\r\n');
        }
        const pid = (await rt().client.state(id)).pid;
        await rt().client.delete(id, { force: true });
        await expectGone(rt(), id, pid, bundle);
      });

      it('reads stats back and updates limits of a running container', async () => {
        const { id, bundle } = await created(rt(), ['sleep', '1000'], (s) => {
          if (s.linux?.resources) {
            s.linux.resources.memory = { limit: 64 * 1024 * 1024 };
            s.linux.resources.pids = { limit: 50 };
          }
        });
        await rt().client.start(id);
        // runc's init is multi-threaded until its exec completes, a moment after start returns
        await until(async () => (await rt().client.stats(id)).pids.current === 1);
        const before = await rt().client.stats(id);
        expect(before.memory.usage.limit).toBe(64 * 1024 * 1024);
        expect(before.memory.usage.usage).toBeGreaterThan(0);
        expect(before.pids.current).toBe(1);
        expect(before.cpu.usage.total).toBeGreaterThan(0);
        await rt().client.update(id, { memory: { limit: 32 * 1024 * 1024 }, pids: { limit: 20 } });
        expect((await rt().client.stats(id)).memory.usage.limit).toBe(32 * 1024 * 1024);
        expect(readFileSync(`/sys/fs/cgroup/pids/${id}/pids.max`, 'utf8').trim()).toBe('20');
        const pid = (await rt().client.state(id)).pid;
        await rt().client.delete(id, { force: true });
        await expectGone(rt(), id, pid, bundle);
      });

      it('hands a terminal to the console socket', async () => {
        const helper = join(h.dir, 'recvtty');
        if (!existsSync(helper)) execFileSync('cc', ['-O2', '-o', helper, join(import.meta.dirname, 'testing', 'recvtty.c')]);
        const sock = join(h.dir, `${uniqueId('tty')}.sock`);
        const recv = spawn(helper, [sock], { stdio: ['ignore', 'pipe', 'inherit'] });
        let shown = '';
        recv.stdout.on('data', (d: Buffer) => (shown += d.toString()));
        const done = new Promise((r) => recv.on('close', r));
        const deadline = Date.now() + 5000;
        while (!existsSync(sock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        const id = h.track(rt(), uniqueId(rt().name === 'runc' ? 'r' : 't'));
        const bundle = join(h.dir, 'bundles', id);
        const spec = testSpec(h, id, ['sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty; ls -l /dev/console | cut -c1']);
        spec.process.terminal = true;
        await writeBundle(bundle, spec);
        await rt().client.create(id, { bundle, consoleSocket: sock });
        await rt().client.start(id);
        await rt().client.waitStopped(id);
        await done;
        expect(shown).toBe('/dev/pts/0\r\nstdin-is-tty\r\nc\r\n');
        await rt().client.delete(id);
        await rm(bundle, { recursive: true, force: true });
      });

      it('runs createRuntime, poststart and poststop hooks with the state on stdin', async () => {
        const out = join(h.dir, 'hooks', uniqueId('hk'));
        await mkdir(out, { recursive: true });
        const hook = (name: string): { path: string; args: string[] } => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${join(out, name)}`] });
        const { id, bundle } = await created(rt(), ['sleep', '1000'], (s) => {
          s.hooks = { createRuntime: [hook('createRuntime')], poststart: [hook('poststart')], poststop: [hook('poststop')] };
        });
        const pid = (await rt().client.state(id)).pid;
        const read = (name: string): { id: string; pid: number; bundle: string } =>
          JSON.parse(readFileSync(join(out, name), 'utf8')) as { id: string; pid: number; bundle: string };
        expect(read('createRuntime')).toMatchObject({ id, pid, bundle });
        // the spec runs poststart after start; runc 1.1 runs it at create already (fixed in 1.2)
        if (name === 'tsc-runtime') expect(existsSync(join(out, 'poststart'))).toBe(false);
        await rt().client.start(id);
        expect(read('poststart')).toMatchObject({ id, pid });
        await rt().client.delete(id, { force: true });
        expect(read('poststop')).toMatchObject({ id, bundle });
        await expectGone(rt(), id, pid, bundle);
      });

      it('leaves no process behind without a pid namespace, where children outlive the first process', async () => {
        const { id, bundle } = await created(rt(), ['sh', '-c', 'sleep 1000 & exec sleep 1001'], (s) => {
          if (s.linux) s.linux.namespaces = s.linux.namespaces?.filter((n) => n.type !== 'pid');
        });
        await rt().client.start(id);
        const procs = (): number[] =>
          readFileSync(`/sys/fs/cgroup/pids/${id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
        await until(() => procs().length === 2);
        const all = procs();
        await rt().client.kill(id, 'KILL');
        await rt().client.waitStopped(id);
        await rt().client.delete(id);
        for (const pid of all) expect(pidAlive(pid)).toBe(false);
        await expectGone(rt(), id, all[0] ?? 0, bundle);
      });

      it('deletes a created container that never started', async () => {
        const { id, bundle } = await created(rt(), ['sleep', '1000']);
        const pid = (await rt().client.state(id)).pid;
        await rt().client.delete(id);
        await expectGone(rt(), id, pid, bundle);
      });

      it('reports a missing executable at create, with the same words, and leaves nothing', async () => {
        const id = h.track(rt(), uniqueId('x'));
        const bundle = join(h.dir, 'bundles', id);
        await writeBundle(bundle, testSpec(h, id, ['nosuchcommand']));
        const err: unknown = await rt().client.create(id, { bundle }).catch((e: unknown) => e);
        expect(isTscError(err, 'ERR_RUNTIME')).toBe(true);
        expect((err as Error).message).toContain('exec: "nosuchcommand": executable file not found in $PATH');
        await expect(rt().client.state(id)).rejects.toSatisfy((e: unknown) => isTscError(e, 'ERR_NOT_FOUND'));
        expect(leftoverCgroups(id)).toEqual([]);
        expect(await leftoverMounts(bundle)).toEqual([]);
      });

      it('rejects a bundle whose rootfs or mount source is missing, and leaves nothing', async () => {
        const id = h.track(rt(), uniqueId('b'));
        const bundle = join(h.dir, 'bundles', id);
        const spec = testSpec(h, id, ['true']);
        spec.root.path = join(bundle, 'no-such-rootfs');
        await writeBundle(bundle, spec);
        await expect(rt().client.create(id, { bundle })).rejects.toThrow(/no-such-rootfs|rootfs/);
        const spec2 = testSpec(h, id, ['true']);
        spec2.mounts?.push({ destination: '/data', type: 'bind', source: join(bundle, 'no-such-dir'), options: ['rbind'] });
        await writeBundle(bundle, spec2);
        await expect(rt().client.create(id, { bundle })).rejects.toThrow(/no-such-dir/);
        expect(existsSync(join(rt().root, id))).toBe(false);
        expect(leftoverCgroups(id)).toEqual([]);
        expect(await leftoverMounts(bundle)).toEqual([]);
      });

      it('enters a cwd the user may not read, creates a missing one, and refuses a file', async () => {
        const dir = join(h.rootfs, 'private');
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const missing = `/${uniqueId('cwd')}`;
        for (const [cwd, error] of [
          ['/private', null],
          [missing, null],
          ['/etc/passwd', /not a directory/],
        ] as const) {
          const id = h.track(rt(), uniqueId('p'));
          const bundle = join(h.dir, 'bundles', id);
          const spec = testSpec(h, id, ['true']);
          spec.process.user = { uid: 1000, gid: 1000 };
          spec.process.cwd = cwd;
          await writeBundle(bundle, spec);
          if (error === null) {
            await rt().client.create(id, { bundle });
            await rt().client.delete(id, { force: true });
            expect(existsSync(join(h.rootfs, cwd))).toBe(true);
          } else {
            await expect(rt().client.create(id, { bundle })).rejects.toThrow(error);
          }
          expect(leftoverCgroups(id)).toEqual([]);
        }
      });

      it('rejects a bundle whose config.json is not JSON, naming the file', async () => {
        const id = uniqueId('b');
        const bundle = join(h.dir, 'bundles', id);
        await mkdir(bundle, { recursive: true });
        await writeFile(join(bundle, 'config.json'), '{"ociVersion": "1.0.2", process: }');
        await expect(rt().client.create(id, { bundle })).rejects.toThrow(/config\.json|invalid character/);
        expect(existsSync(join(rt().root, id))).toBe(false);
      });
    });
  }
});
