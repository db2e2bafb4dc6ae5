/**
 * The monitor of tsc-runtime: JSON-lines logs with rotation, exit code and OOM flag in state,
 * and a container that outlives whatever created it (an agent restart loses nothing).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { attachStdin, attachTerminal, resizeTerminal, waitExit } from './monitor-client.js';
import { untilTrue } from '../../test/support/poll.js';
import { createRuntimeClient } from './runtime-client.js';
import { ANNOTATIONS } from './spec.js';
import type { Spec } from './spec.js';
import { leftoverCgroups, runScript, setupHarness, testSpec, uniqueId } from './testing/harness.js';
import type { Harness } from './testing/harness.js';
import { writeBundle } from './write-bundle.js';

interface LogLine {
  log: string;
  stream: string;
  time: string;
}

describePrivileged('tsc-runtime monitor', [root, command('cc'), command('make')], () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness();
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  async function runDetached(args: string[], edit: (s: Spec, bundle: string) => void = () => {}): Promise<{ id: string; bundle: string }> {
    const id = h.track(h.ours, uniqueId('m'));
    const bundle = join(h.dir, 'bundles', id);
    await mkdir(bundle, { recursive: true });
    const spec = testSpec(h, id, args);
    edit(spec, bundle);
    await writeBundle(bundle, spec);
    await h.ours.client.create(id, { bundle });
    await h.ours.client.start(id);
    return { id, bundle };
  }

  it('writes stdout and stderr as Docker json-file lines', async () => {
    const { id, bundle } = await runDetached(['sh', '-c', 'echo out1; echo err1 >&2; echo "quote \\" tab\t"; printf partial'], (s, b) => {
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log') };
    });
    const st = await h.ours.client.waitStopped(id);
    expect(st.exitStatus).toBe(0);
    const lines = (await readFile(join(bundle, 'ctr.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    const byStream = (s: string): string[] => lines.filter((l) => l.stream === s).map((l) => l.log);
    expect(byStream('stdout')).toEqual(['out1\n', 'quote " tab\t\n', 'partial']);
    expect(byStream('stderr')).toEqual(['err1\n']);
    for (const l of lines) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    await h.ours.client.delete(id);
  });

  it('gives a terminal when asked, and logs what it shows', async () => {
    const { id, bundle } = await runDetached(['sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; ls -l /dev/console | cut -c1'], (s, b) => {
      s.process.terminal = true;
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log') };
    });
    expect((await h.ours.client.waitStopped(id)).exitStatus).toBe(0);
    const text = (await readFile(join(bundle, 'ctr.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as LogLine).log)
      .join('');
    expect(text).toBe('/dev/pts/0\r\nstdio-is-tty\r\nc\r\n');
    await h.ours.client.delete(id);
  });

  it("feeds the container's stdin from an attached client, and wait returns the exit", async () => {
    const { id, bundle } = await runDetached(['sh', '-c', 'while read line; do echo "got:$line"; done; echo eof; exit 5'], (s, b) => {
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log'), [ANNOTATIONS.stdin]: 'true' };
    });
    const exited = waitExit({ root: h.ours.root, id });
    const stdin = await attachStdin({ root: h.ours.root, id });
    stdin.write('hello\n');
    stdin.end('world\n');
    expect(await exited).toEqual({ exitCode: 5, oomKilled: false });
    const logs = (await readFile(join(bundle, 'ctr.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as LogLine).log);
    expect(logs).toEqual(['got:hello\n', 'got:world\n', 'eof\n']);
    await h.ours.client.delete(id);
  });

  it('resizes the terminal it keeps', async () => {
    const id = h.track(h.ours, uniqueId('m'));
    const bundle = join(h.dir, 'bundles', id);
    const spec = testSpec(h, id, ['stty', 'size']);
    spec.process.terminal = true;
    spec.annotations = { [ANNOTATIONS.logPath]: join(bundle, 'ctr.log') };
    await writeBundle(bundle, spec);
    await h.ours.client.create(id, { bundle });
    await resizeTerminal({ root: h.ours.root, id }, 40, 100);
    await h.ours.client.start(id);
    await h.ours.client.waitStopped(id);
    const text = (await readFile(join(bundle, 'ctr.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as LogLine).log)
      .join('');
    expect(text).toBe('40 100\r\n');
    await h.ours.client.delete(id);
  });

  it('attaches to the terminal it keeps: sized from the start, keys in, output out, Ctrl-C as a character', async () => {
    const script = 'stty size; tty; trap "echo got-int" INT; echo ready; read x; echo "x=$x"; read y; exit 7';
    const { id, bundle } = await runDetached(['sh', '-c', script], (s, b) => {
      s.process.terminal = true;
      s.process.consoleSize = { height: 31, width: 97 };
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log'), [ANNOTATIONS.stdin]: 'true' };
    });
    const exited = waitExit({ root: h.ours.root, id });
    // attached after start, as `run` does: what came before still arrives
    const t = await attachTerminal({ root: h.ours.root, id }, { fromStart: true });
    let shown = '';
    t.output.on('data', (d: Buffer) => (shown += d.toString()));
    await untilTrue('the prompt', () => shown.includes('ready'));
    expect(shown).toMatch(/^31 97\r\n\/dev\/pts\/0\r\n/);
    t.input.write('hello\r');
    await untilTrue('the echo of a line', () => shown.includes('x=hello'));
    expect(shown).toContain('hello\r\n'); // the terminal echoed what was typed
    t.input.write('\x03'); // Ctrl-C: the line discipline makes it SIGINT for the shell
    await untilTrue('the trap', () => shown.includes('got-int'));
    t.input.write('\r');
    expect(await exited).toEqual({ exitCode: 7, oomKilled: false });
    await untilTrue('the end of the output', () => t.output.readableEnded);
    const logged = (await readFile(join(bundle, 'ctr.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as LogLine).log)
      .join('');
    expect(logged).toContain('x=hello\r\n');
    expect(logged).toContain('got-int');
    await h.ours.client.delete(id);
  });

  it('lets a terminal client detach and another attach; without open stdin, input is dropped', async () => {
    const { id } = await runDetached(['sh', '-c', 'while read l; do echo "line:$l"; done; echo eof; exit 3'], (s, b) => {
      s.process.terminal = true;
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log'), [ANNOTATIONS.stdin]: 'true' };
    });
    const first = await attachTerminal({ root: h.ours.root, id });
    let one = '';
    first.output.on('data', (d: Buffer) => (one += d.toString()));
    first.input.write('a\r');
    await untilTrue('the first line', () => one.includes('line:a'));
    await expect(attachTerminal({ root: h.ours.root, id })).rejects.toThrow(/attached already/);
    first.close(); // detach: no end of input
    let second: Awaited<ReturnType<typeof attachTerminal>> | undefined;
    await untilTrue('the monitor to let the first go', async () => {
      second = await attachTerminal({ root: h.ours.root, id }).catch(() => undefined);
      return second !== undefined;
    });
    let two = '';
    second?.output.on('data', (d: Buffer) => (two += d.toString()));
    second?.input.write('b\r');
    await untilTrue('the second line', () => two.includes('line:b'));
    expect(two).not.toContain('line:a');
    second?.input.end(); // end of input: the terminal reads ^D
    expect(await waitExit({ root: h.ours.root, id })).toEqual({ exitCode: 3, oomKilled: false });
    expect(two).toContain('eof');
    await h.ours.client.delete(id);

    const quiet = await runDetached(['sh', '-c', 'echo up; sleep 0.3; echo done'], (s, b) => {
      s.process.terminal = true;
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log') };
    });
    const t = await attachTerminal({ root: h.ours.root, id: quiet.id }, { fromStart: true });
    let shown = '';
    t.output.on('data', (d: Buffer) => (shown += d.toString()));
    t.input.write('ignored\r');
    expect(await waitExit({ root: h.ours.root, id: quiet.id })).toEqual({ exitCode: 0, oomKilled: false });
    await untilTrue('the end of the output', () => t.output.readableEnded);
    expect(shown).toBe('up\r\ndone\r\n');
    await h.ours.client.delete(quiet.id);
  });

  it('rotates the log at max-size, keeping max-file files', async () => {
    const { id, bundle } = await runDetached(['sh', '-c', 'for i in $(seq 1 200); do echo "line $i of the rotation test"; done'], (s, b) => {
      s.annotations = { [ANNOTATIONS.logPath]: join(b, 'ctr.log'), [ANNOTATIONS.logMaxSize]: '2k', [ANNOTATIONS.logMaxFile]: '3' };
    });
    await h.ours.client.waitStopped(id);
    const files = (await readdir(bundle)).filter((f) => f.startsWith('ctr.log')).sort();
    expect(files).toEqual(['ctr.log', 'ctr.log.1', 'ctr.log.2']);
    for (const f of files) expect(readFileSync(join(bundle, f)).length).toBeLessThanOrEqual(2048);
    const last = readFileSync(join(bundle, 'ctr.log'), 'utf8').trim().split('\n').pop() ?? '';
    expect((JSON.parse(last) as LogLine).log).toBe('line 200 of the rotation test\n');
    await h.ours.client.delete(id);
  });

  it('records the exit code and an OOM kill in state', async () => {
    const { id } = await runDetached(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], (s) => {
      if (s.linux?.resources) s.linux.resources.memory = { limit: 16 * 1024 * 1024 };
    });
    const st = await h.ours.client.waitStopped(id);
    expect(st).toMatchObject({ status: 'stopped', exitStatus: 137, oomKilled: true });
    await h.ours.client.delete(id);
    expect(leftoverCgroups(id)).toEqual([]);
    const ok = await runDetached(['sh', '-c', 'exit 3']);
    expect(await h.ours.client.waitStopped(ok.id)).toMatchObject({ exitStatus: 3, oomKilled: false });
    await h.ours.client.delete(ok.id);
  });

  it('runs an init as PID 1 with init: true: it reaps orphans and forwards signals', async () => {
    const withInit = (s: Spec): void => {
      s.annotations = { ...s.annotations, [ANNOTATIONS.init]: 'true' };
    };
    const script = 'cat /proc/1/comm; echo $$; (sleep 0.1 &); sleep 0.4; for s in /proc/[0-9]*/stat; do read l < $s; case "$l" in *") Z "*) echo zombie;; esac; done; echo done';
    const out = await runScript(h, h.ours, script, withInit);
    expect(out.out).toBe('init\n2\ndone\n');
    // sleep as PID 1 ignores SIGTERM; behind the init it dies of it
    const { id } = await runDetached(['sleep', '1000'], withInit);
    await h.ours.client.kill(id, 'TERM');
    expect(await h.ours.client.waitStopped(id)).toMatchObject({ exitStatus: 143 });
    await h.ours.client.delete(id);
  });

  it('keeps the container when its creator exits, and a new client finds it and its exit code', async () => {
    const id = h.track(h.ours, uniqueId('m'));
    const bundle = join(h.dir, 'bundles', id);
    const spec = testSpec(h, id, ['sh', '-c', 'trap "exit 9" TERM; while :; do sleep 0.05; done']);
    spec.annotations = { [ANNOTATIONS.logPath]: join(bundle, 'ctr.log') };
    await writeBundle(bundle, spec);
    // the creator is a separate process that exits at once, like an agent that restarts
    const made = spawnSync('sh', ['-c', `"$0" --root "$1" create --bundle "$2" "$3" && "$0" --root "$1" start "$3"`, h.ours.client.binary, h.ours.root, bundle, id]);
    expect(made.status).toBe(0);
    const again = createRuntimeClient({ binary: h.ours.client.binary, root: h.ours.root });
    const st = await again.state(id);
    expect(st.status).toBe('running');
    const monitorPid = (JSON.parse(readFileSync(join(h.ours.root, id, 'state.json'), 'utf8')) as { monitorPid: number }).monitorPid;
    const status = readFileSync(`/proc/${monitorPid}/status`, 'utf8');
    expect(status).toMatch(/PPid:\s+\d+/);
    expect(Number(/PPid:\s+(\d+)/.exec(status)?.[1])).not.toBe(made.pid);
    // the shell ignores SIGTERM as PID 1 until its trap is set
    const deadline = Date.now() + 5000;
    const trapped = (): boolean =>
      (BigInt(`0x${/SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${st.pid}/status`, 'utf8'))?.[1] ?? '0'}`) & (1n << 14n)) !== 0n;
    while (!trapped() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await again.kill(id, 'TERM');
    expect(await again.waitStopped(id)).toMatchObject({ exitStatus: 9 });
    await again.delete(id);
    expect(existsSync(`/proc/${st.pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${st.pid}/stat`, 'utf8'))).toBe(false);
  });
});
