import { describe, expect, it } from 'vitest';

import { ProgramNotStarted, runBuiltin, runProgram, usesSpawnHelper } from './run-program.js';

// Through the tsc-spawn helper when it is built (npm run build), else Node's spawn: the same contract.
describe('runProgram', () => {
  it('feeds stdin, collects stdout and stderr apart, and reports the exit status', async () => {
    const r = await runProgram(['sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 3'], { input: 'hello\n' });
    expect(r.code).toBe(3);
    expect(r.stdout.toString()).toBe('HELLO\n');
    expect(r.stderr.toString()).toBe('oops\n');
  });

  it('runs in the given directory and reports a signal as 128 + its number', async () => {
    expect((await runProgram(['pwd'], { cwd: '/proc' })).stdout.toString()).toBe('/proc\n');
    expect((await runProgram(['sh', '-c', 'kill -9 $$'])).code).toBe(137);
  });

  it('runs many programs at once, each answer to its own caller, with large input and output', async () => {
    const big = 'x'.repeat(300_000);
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runProgram(['sh', '-c', `cat; echo ${i}`], { input: i % 2 === 0 ? big : '' })),
    );
    runs.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`${i % 2 === 0 ? big : ''}${i}\n`);
    });
  });

  it('rejects a program that does not exist', async () => {
    await expect(runProgram(['tsc-no-such-program-here'])).rejects.toBeInstanceOf(ProgramNotStarted);
  });
});

describe('the tsc-spawn helper', () => {
  it('is what starts programs once built (npm run build), unless turned off', async () => {
    const { existsSync } = await import('node:fs');
    const built = existsSync(new URL('../agent/runtime/native/build/tsc-spawn', import.meta.url));
    expect(usesSpawnHelper()).toBe(built && process.env['TSC_COMPOSE_SPAWN_HELPER'] !== '0');
    // its children are not ours: a program started through it has another parent
    const r = await runProgram(['sh', '-c', 'echo $PPID']);
    expect(Number(r.stdout.toString()) === process.pid).toBe(!usesSpawnHelper());
  });
});

describe('ignoreStdio', () => {
  it('does not wait on a process the program leaves behind', async () => {
    const dir = await import('node:fs/promises').then((f) => f.mkdtemp('/tmp/tsc-run-program-'));
    // the background sleep keeps stdout/stderr: with pipes the answer would wait for it
    const r = await runProgram(['sh', '-c', `sleep 30 & echo $! > ${dir}/pid; exit 4`], { ignoreStdio: true });
    expect(r.code).toBe(4);
    expect(r.stdout.length).toBe(0);
    const { readFile, rm } = await import('node:fs/promises');
    process.kill(Number((await readFile(`${dir}/pid`, 'utf8')).trim()), 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
});

describe('runBuiltin', () => {
  it('answers undefined for a built-in the helper does not know (the caller runs its program), and refuses a program name', async () => {
    expect(await runBuiltin(['@no-such-built-in'])).toBeUndefined();
    await expect(runBuiltin(['true'])).rejects.toThrow('true is not a built-in');
  });
});
