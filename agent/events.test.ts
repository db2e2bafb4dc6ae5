import { describe, expect, it } from 'vitest';

import { createEventBus } from './events.js';

describe('event bus', () => {
  it('delivers events after subscription, filtered by label, until the consumer stops', async () => {
    const bus = createEventBus(() => new Date('2026-01-01T00:00:00Z'));
    const it = bus.subscribe({ label: ['com.docker.compose.project=p'] })[Symbol.asyncIterator]();
    bus.publish({ type: 'container', action: 'start', id: 'a', attributes: { 'com.docker.compose.project': 'p' } });
    bus.publish({ type: 'container', action: 'start', id: 'b', attributes: { 'com.docker.compose.project': 'q' } });
    bus.publish({ type: 'container', action: 'die', id: 'a', attributes: { 'com.docker.compose.project': 'p', exitCode: '0' } });
    expect((await it.next()).value).toMatchObject({ action: 'start', id: 'a', time: '2026-01-01T00:00:00.000Z' });
    expect((await it.next()).value).toMatchObject({ action: 'die', id: 'a' });
    await it.return?.();
    expect((await it.next()).done).toBe(true);
  });

  it('ends a waiting consumer when its signal aborts', async () => {
    const bus = createEventBus();
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => {
      for await (const e of bus.subscribe(undefined, ac.signal)) got.push(e.action);
    })();
    bus.publish({ type: 'network', action: 'create', id: 'n', attributes: {} });
    await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await done;
    expect(got).toEqual(['create']);
  });
});
