import { describe, expect, it } from 'vitest';

import { planService, type ActualContainer, type PlanOptions } from './plan.js';

const opts: PlanOptions = { recreate: 'diverged', noStart: false };
const c = (number: number, configHash = 'h1', state: ActualContainer['state'] = 'running'): ActualContainer => ({
  id: `id${number}`,
  name: `p-web-${number}`,
  number,
  configHash,
  state,
});

describe('planService', () => {
  it('creates every replica of a new service, numbered from 1', () => {
    expect(planService({ name: 'web', configHash: 'h1', scale: 2 }, [], opts)).toEqual([
      { op: 'create', service: 'web', number: 1, start: true },
      { op: 'create', service: 'web', number: 2, start: true },
    ]);
  });

  it('leaves an unchanged running service alone and starts a stopped one', () => {
    expect(planService({ name: 'web', configHash: 'h1', scale: 2 }, [c(1), c(2, 'h1', 'exited')], opts).map((o) => o.op)).toEqual([
      'keep',
      'start',
    ]);
  });

  it('recreates a container whose config hash diverged, keeping its number', () => {
    expect(planService({ name: 'web', configHash: 'h2', scale: 1 }, [c(1, 'h1')], opts)).toEqual([
      { op: 'recreate', service: 'web', number: 1, replaces: 'id1', start: true },
    ]);
  });

  it('honours --force-recreate and --no-recreate', () => {
    expect(planService({ name: 'web', configHash: 'h1', scale: 1 }, [c(1)], { ...opts, recreate: 'force' })[0]?.op).toBe('recreate');
    expect(planService({ name: 'web', configHash: 'h2', scale: 1 }, [c(1, 'h1')], { ...opts, recreate: 'never' })[0]?.op).toBe('keep');
  });

  it('scales down by removing the highest numbers, diverged ones first', () => {
    const ops = planService({ name: 'web', configHash: 'h1', scale: 1 }, [c(1, 'old'), c(2), c(3)], opts);
    expect(ops).toEqual([
      { op: 'remove', service: 'web', number: 3, id: 'id3' },
      { op: 'remove', service: 'web', number: 1, id: 'id1' },
      { op: 'keep', service: 'web', number: 2, id: 'id2' },
    ]);
  });

  it('fills the lowest free numbers when scaling up', () => {
    const ops = planService({ name: 'web', configHash: 'h1', scale: 3 }, [c(2)], opts);
    expect(ops.filter((o) => o.op === 'create').map((o) => o.number)).toEqual([1, 3]);
  });

  it('creates without starting under --no-start', () => {
    expect(planService({ name: 'web', configHash: 'h1', scale: 1 }, [], { recreate: 'diverged', noStart: true })).toEqual([
      { op: 'create', service: 'web', number: 1, start: false },
    ]);
  });
});
