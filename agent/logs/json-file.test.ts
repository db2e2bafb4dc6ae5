import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { untilTrue } from '../../test/support/poll.js';
import type { LogLine } from '../api/types.js';
import { parseJsonLogLine, readJsonLogs } from './json-file.js';

const entry = (log: string, sec: number, stream = 'stdout') =>
  `${JSON.stringify({ log: `${log}\n`, stream, time: `2026-11-23T09:00:${String(sec).padStart(2, '0')}.000000001Z` })}\n`;

async function collect(it: AsyncIterable<LogLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l.line);
  return out;
}

describe('json-file logs', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-logs-'));
    file = join(dir, 'c-json.log');
    await writeFile(`${file}.2`, entry('one', 1) + entry('two', 2));
    await writeFile(`${file}.1`, entry('three', 3, 'stderr'));
    await writeFile(file, entry('four', 4) + entry('five', 5) + '{"log":"torn');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads rotated files oldest first and skips a torn last line', async () => {
    expect(await collect(readJsonLogs(file))).toEqual(['one', 'two', 'three', 'four', 'five']);
  });

  it('keeps the stream of each line', () => {
    expect(parseJsonLogLine(entry('x', 1, 'stderr').trim())).toEqual({ stream: 'stderr', time: '2026-11-23T09:00:01.000000001Z', line: 'x' });
  });

  it('applies tail, since and until as docker logs does', async () => {
    expect(await collect(readJsonLogs(file, { tail: 2 }))).toEqual(['four', 'five']);
    expect(await collect(readJsonLogs(file, { tail: 0 }))).toEqual([]);
    expect(await collect(readJsonLogs(file, { since: '2026-11-23T09:00:04Z' }))).toEqual(['four', 'five']);
    expect(await collect(readJsonLogs(file, { since: '2026-11-23T09:00:03.000000001Z', until: '2026-11-23T09:00:05Z' }))).toEqual(['three', 'four']);
  });

  it('follows appended lines and a rotation until aborted', async () => {
    file = join(dir, 'live-json.log');
    await writeFile(file, entry('start', 1));
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const l of readJsonLogs(file, { follow: true, signal: ac.signal, pollMs: 10 })) {
        seen.push(l.line);
        if (seen.length === 3) ac.abort();
      }
    })();
    const until = async (n: number) => {
      while (seen.length < n) await new Promise((r) => setTimeout(r, 5));
    };
    await until(1);
    await appendFile(file, entry('appended', 2));
    await until(2);
    await rename(file, `${file}.1`);
    await writeFile(file, entry('after rotation', 3));
    await done;
    expect(seen).toEqual(['start', 'appended', 'after rotation']);
  });

  it('wakes a follow by inotify, not the timer: an appended line arrives with the poll an hour away', async () => {
    file = join(dir, 'woken-json.log');
    await writeFile(file, entry('start', 1));
    const ac = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const l of readJsonLogs(file, { follow: true, signal: ac.signal, pollMs: 3_600_000 })) seen.push(l.line);
    })();
    await untilTrue('the first line', () => seen.length === 1);
    await appendFile(file, entry('woken', 2));
    await untilTrue('the appended line', () => seen.length === 2, 10_000);
    ac.abort();
    await reading;
    expect(seen).toEqual(['start', 'woken']);
  });

  it('follows from where its first read ended: a line written in between is read once', async () => {
    file = join(dir, 'between-json.log');
    const whole = entry('torn', 2);
    // the first read sees a line and the start of another, still being written
    await writeFile(file, entry('first', 1) + whole.slice(0, 10));
    let finish = (): void => undefined;
    const done = new Promise<void>((r) => (finish = r));
    const it = readJsonLogs(file, { follow: true, pollMs: 3_600_000, done })[Symbol.asyncIterator]();
    // paused after yielding what the first read found, before following
    expect((await it.next()).value?.line).toBe('first');
    await appendFile(file, whole.slice(10) + entry('between', 3));
    finish();
    const rest: string[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(r.value.line);
    expect(rest).toEqual(['torn', 'between']);
  });

  it('ends a follow once done settles, with every line written before it', async () => {
    file = join(dir, 'ending-json.log');
    await writeFile(file, entry('first', 1));
    let finish = (): void => undefined;
    const done = new Promise<void>((r) => (finish = r));
    const lines = collect(readJsonLogs(file, { follow: true, pollMs: 3_600_000, done }));
    await appendFile(file, entry('last', 2) + entry('very last', 3));
    finish();
    expect(await lines).toEqual(['first', 'last', 'very last']);
  });
});
