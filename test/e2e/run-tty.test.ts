/**
 * `run` and `attach` with a terminal, as a user at a terminal meets them: the CLI runs under a
 * real pty (script(1)), keys are written to that pty as typed and what it shows is read back.
 * The one-off container gets a pty of its own sized as ours, echoes keys, takes Ctrl-C as a
 * character, follows a resize of our window, and its exit code is ours; our terminal's mode is
 * restored after. A `tty: true` service under `up -d` runs and logs with nobody attached;
 * `attach` joins its terminal and Ctrl-P Ctrl-Q lets go of it without stopping it; `exec` at a
 * terminal does the same for its process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { until, untilTrue } from '../support/poll.js';
import { command, describePrivileged, root } from '../support/privileged.js';

interface PtySession {
  proc: ChildProcess;
  shown(): string;
  type(keys: string): void;
  /** Wait until the terminal has shown `what` (after `from`, an offset into what it showed). */
  waitFor(what: RegExp | string, from?: number): Promise<void>;
  exited: Promise<number | null>;
}

const quote = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`;

/** Pids whose command line names `text` (a container's monitor names its runtime root). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describePrivileged('run and attach with a terminal', [root, command('nft'), command('ip'), command('busybox'), command('tar'), command('script')], () => {
  let host: E2eHost;

  beforeAll(async () => {
    host = await createE2eHost('tty', {
      'compose.yaml': [
        'services:',
        '  shell:',
        '    image: busybox',
        '    command: ["sh"]',
        '  term:',
        '    image: busybox',
        '    tty: true',
        '    command: ["sh", "-c", "echo term-start; tty; exec sleep 600"]',
        '    stop_signal: SIGKILL',
        '  console:',
        '    image: busybox',
        '    tty: true',
        '    stdin_open: true',
        '    command: ["sh"]',
        '',
      ].join('\n'),
    });
  }, 120_000);
  afterAll(async () => {
    await host?.dispose();
  });

  /** `tsc-compose ARGS` on a pty of 30x100, after `before` (shell) and followed by `after`. */
  function underPty(args: string[], shell: { before?: string; after?: string } = {}): PtySession {
    const { argv, env, cwd } = host.command;
    const line = `stty rows 30 cols 100; ${shell.before ?? ''} ${[...argv, ...args].map(quote).join(' ')}; ${shell.after ?? 'exit $?'}`;
    const proc = spawn('script', ['-qfec', line, '/dev/null'], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let shown = '';
    proc.stdout?.on('data', (b: Buffer) => (shown += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (shown += b.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    return {
      proc,
      shown: () => shown,
      type: (keys) => proc.stdin?.write(keys),
      waitFor: (what, from = 0) => untilTrue(`the terminal to show ${String(what)}`, () => (typeof what === 'string' ? shown.slice(from).includes(what) : what.test(shown.slice(from))), 60_000),
      exited,
    };
  }

  it('runs a one-off container on a pty of its own: keys, Ctrl-C, resize, exit code, our terminal restored', async () => {
    const outer = join(host.dir, 'outer-tty');
    const script = [
      'tty; stty size; trap "echo got-int" INT; echo ready',
      'while :; do read line; case "$line" in size) stty size;; quit) exit 5;; *) echo "got:$line";; esac; done',
    ].join('\n');
    const s = underPty(['--progress', 'quiet', 'run', '--rm', 'shell', 'sh', '-c', script], {
      before: `tty > ${quote(outer)}; saved=$(stty -g);`,
      after: 'code=$?; [ "$(stty -g)" = "$saved" ] && echo terminal-restored; echo "cli-exit=$code"',
    });
    try {
      await s.waitFor('ready');
      // its own pty, sized as ours from the first instruction
      expect(s.shown()).toMatch(/\/dev\/pts\/\d+\r\n30 100\r\n/);
      let mark = s.shown().length;
      s.type('hello\r');
      await s.waitFor('got:hello', mark);
      expect(s.shown().slice(mark)).toMatch(/^hello\r\n/); // echoed by the container's terminal
      mark = s.shown().length;
      s.type('\x03'); // Ctrl-C: a character for the container's terminal, which signals its shell
      await s.waitFor('got-int', mark);
      expect(s.proc.exitCode).toBeNull(); // the CLI did not die of it
      // our window grows: the container's terminal follows
      const pts = readFileSync(outer, 'utf8').trim();
      expect(spawnSync('stty', ['-F', pts, 'rows', '40', 'cols', '120']).status).toBe(0);
      await until(
        'the container to see the new size',
        () => {
          const m = s.shown().length;
          s.type('size\r');
          return m;
        },
        () => /\n40 120\r\n/.test(s.shown()),
        30_000,
      );
      mark = s.shown().length;
      s.type('quit\r');
      await s.waitFor('cli-exit=', mark);
      expect(s.shown().slice(mark)).toContain('terminal-restored');
      expect(s.shown().slice(mark)).toMatch(/cli-exit=5/);
      expect(await s.exited).toBe(0);
    } finally {
      s.proc.kill('SIGKILL');
    }
    // --rm: nothing of it is left, neither the container nor its runtime state or monitor
    const left = host.cli(['ps', '-a', '--format', 'json']);
    expect(left.stdout).not.toContain('shell-run-');
    const rtRoot = join(host.dir, 'run', 'runtime');
    expect(existsSync(rtRoot) ? readdirSync(rtRoot) : []).toEqual([]);
    expect(processesMentioning(rtRoot)).toEqual([]);
  }, 120_000);

  it('shows a short command whole, exit code included; -T gives no terminal', async () => {
    const quick = underPty(['--progress', 'quiet', 'run', '--rm', 'shell', 'sh', '-c', 'echo short-lived; [ -t 0 ] && echo stdin-is-tty; exit 3']);
    expect(await quick.exited).toBe(3);
    expect(quick.shown()).toContain('short-lived');
    expect(quick.shown()).toContain('stdin-is-tty');
    const none = underPty(['--progress', 'quiet', 'run', '--rm', '-T', 'shell', 'sh', '-c', 'tty; exit 0']);
    expect(await none.exited).toBe(0);
    expect(none.shown()).toMatch(/not a tty/);
  }, 120_000);

  it('passes a signal sent to the CLI on to the container, and restores our terminal after', async () => {
    const pidFile = join(host.dir, 'cli-pid');
    const { argv } = host.command;
    // the CLI's pid is the one the inner shell writes before it execs it
    const s = underPty([], {
      before: `saved=$(stty -g); sh -c 'echo $$ > ${pidFile}; exec "$@"' sh ${[...argv, '--progress', 'quiet', 'run', '--rm', 'shell', 'sh', '-c', 'trap "echo got-term; exit 9" TERM; echo ready; read x; echo "never $x"'].map(quote).join(' ')}; code=$?; [ "$(stty -g)" = "$saved" ] && echo terminal-restored; echo "cli-exit=$code"; exit 0 #`,
      after: '',
    });
    try {
      await s.waitFor('ready');
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
      await s.waitFor('cli-exit=');
      expect(s.shown()).toContain('terminal-restored');
      // (as PID 1 the container's shell acts on SIGTERM only through its trap, as under Docker)
      expect(s.shown()).toContain('got-term');
      expect(s.shown()).toContain('cli-exit=9');
      expect(s.shown()).not.toContain('never');
    } finally {
      s.proc.kill('SIGKILL');
    }
    expect(host.cli(['ps', '-a', '--format', 'json']).stdout).not.toContain('shell-run-');
  }, 120_000);

  it('runs and logs a tty service under up -d, and attach joins its terminal until Ctrl-P Ctrl-Q', async () => {
    const upped = host.cli(['--progress', 'quiet', 'up', '-d', 'term', 'console']);
    expect(upped.status, upped.stderr).toBe(0);
    // nobody attached: it runs on its terminal, and what the terminal shows is logged
    await until('the tty service to log', () => host.cli(['logs', '--no-log-prefix', 'term']).stdout, (out) => out.includes('/dev/pts/0'));
    expect(host.cli(['logs', '--no-log-prefix', 'term']).stdout).toMatch(/term-start\r?\n\/dev\/pts\/0/);
    // (what the first test found absent after run --rm: the monitors of running containers)
    expect(processesMentioning(join(host.dir, 'run', 'runtime')).length).toBeGreaterThanOrEqual(2);

    const s = underPty(['attach', 'console'], { after: 'echo "cli-exit=$?"' });
    try {
      await until(
        'the attached shell to answer',
        () => {
          s.type('echo attached-$((40+2))\r');
          return s.shown();
        },
        (out) => out.includes('attached-42'),
        60_000,
      );
      const mark = s.shown().length;
      s.type('\x10\x11'); // Ctrl-P Ctrl-Q
      await s.waitFor('cli-exit=', mark);
      expect(s.shown().slice(mark)).toContain('cli-exit=0');
    } finally {
      s.proc.kill('SIGKILL');
    }
    // detached, not stopped: and a second attach finds its terminal free again
    const ps = host.cli(['ps', '--format', 'json', 'console']);
    expect(ps.stdout).toContain('running');
    const again = underPty(['attach', 'console'], { after: 'echo "cli-exit=$?"' });
    try {
      await until(
        'the shell to answer a second attach',
        () => {
          again.type('echo again-$((1+1))\r');
          return again.shown();
        },
        (out) => out.includes('again-2'),
        60_000,
      );
      const mark = again.shown().length;
      again.type('exit 7\r'); // the shell ends: attach ends with its exit code
      await again.waitFor('cli-exit=', mark);
      expect(again.shown().slice(mark)).toContain('cli-exit=7');
    } finally {
      again.proc.kill('SIGKILL');
    }
  }, 180_000);

  it('exec at a terminal: a pty sized as ours, keys echoed, and Ctrl-P Ctrl-Q leaves the process running', async () => {
    expect(host.cli(['--progress', 'quiet', 'up', '-d', 'term']).status).toBe(0);
    const loop = 'stty size; echo exec-ready; while read l; do echo "got:$l"; done';
    const s = underPty(['exec', 'term', 'sh', '-c', loop], { after: 'echo "cli-exit=$?"' });
    try {
      await s.waitFor('exec-ready');
      expect(s.shown()).toMatch(/30 100\r\n/);
      let mark = s.shown().length;
      s.type('hi\r');
      await s.waitFor('got:hi', mark);
      mark = s.shown().length;
      s.type('\x10\x11'); // Ctrl-P Ctrl-Q
      await s.waitFor('cli-exit=', mark);
      expect(s.shown().slice(mark)).toContain('cli-exit=0');
    } finally {
      s.proc.kill('SIGKILL');
    }
    // detached, as from docker exec: the loop still runs in the container
    expect(host.cli(['top', 'term']).stdout).toContain('while read l');
  }, 120_000);
});

