import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enterJoint, leaveJoint, restore, simple } from './confchange.js';
import { ProgressTracker, confStateOf, formatTrackerConfig } from './progress.js';
import { type ConfChangeSingle, type ConfState, emptyConfState } from './types.js';

function tracker(cs: Partial<ConfState> = {}): ProgressTracker {
  const t = new ProgressTracker(4, 0);
  const r = restore({ tracker: t, lastIndex: 10 }, { ...emptyConfState(), ...cs });
  t.config = r.config;
  t.progress = r.progress;
  return t;
}

const add = (nodeId: number): ConfChangeSingle => ({ type: 'addNode', nodeId });
const learner = (nodeId: number): ConfChangeSingle => ({ type: 'addLearner', nodeId });
const remove = (nodeId: number): ConfChangeSingle => ({ type: 'removeNode', nodeId });

describe('confchange', () => {
  it('a simple change adds one voter and returns a new config, leaving the input untouched', () => {
    const t = tracker({ voters: [1, 2, 3] });
    const r = simple({ tracker: t, lastIndex: 10 }, [add(4)]);
    expect(formatTrackerConfig(r.config)).toBe('voters=(1 2 3 4)');
    expect(formatTrackerConfig(t.config)).toBe('voters=(1 2 3)');
    expect(r.progress.get(4)?.next).toBe(10);
    expect(r.progress.get(4)?.recentActive).toBe(true);
  });

  it('a simple change may not change two voters', () => {
    const t = tracker({ voters: [1, 2, 3] });
    expect(() => simple({ tracker: t, lastIndex: 1 }, [add(4), remove(1)])).toThrow(/more than one voter/);
  });

  it('adding learners or turning a voter into a learner is allowed as a simple change', () => {
    const t = tracker({ voters: [1, 2, 3] });
    const r = simple({ tracker: t, lastIndex: 1 }, [learner(4), learner(5)]);
    expect(formatTrackerConfig(r.config)).toBe('voters=(1 2 3) learners=(4 5)');
  });

  it('entering a joint config keeps the old voters as the outgoing half', () => {
    const t = tracker({ voters: [1, 2, 3] });
    const r = enterJoint({ tracker: t, lastIndex: 1 }, true, [add(4), remove(1), learner(2)]);
    expect(formatTrackerConfig(r.config)).toBe('voters=(3 4)&&(1 2 3) learners_next=(2) autoleave');
    // Node 1 stays tracked while it is still an outgoing voter.
    expect(r.progress.has(1)).toBe(true);
  });

  it('leaving a joint config drops removed voters and turns staged learners into learners', () => {
    const t = tracker({ voters: [1, 2, 3] });
    const j = enterJoint({ tracker: t, lastIndex: 1 }, false, [add(4), remove(1), learner(2)]);
    t.config = j.config;
    t.progress = j.progress;
    const r = leaveJoint({ tracker: t, lastIndex: 1 });
    expect(formatTrackerConfig(r.config)).toBe('voters=(3 4) learners=(2)');
    expect(r.progress.has(1)).toBe(false);
    expect(r.progress.get(2)?.isLearner).toBe(true);
  });

  it('refuses to enter a joint config twice, to leave a non-joint one, and to remove all voters', () => {
    const t = tracker({ voters: [1] });
    expect(() => leaveJoint({ tracker: t, lastIndex: 1 })).toThrow(/non-joint/);
    expect(() => simple({ tracker: t, lastIndex: 1 }, [remove(1)])).toThrow(/removed all voters/);
    const j = enterJoint({ tracker: t, lastIndex: 1 }, false, [add(2)]);
    t.config = j.config;
    t.progress = j.progress;
    expect(() => enterJoint({ tracker: t, lastIndex: 1 }, false, [add(3)])).toThrow(/already joint/);
    expect(() => simple({ tracker: t, lastIndex: 1 }, [add(3)])).toThrow(/joint/);
  });

  it('restore(confState(config)) gives back the same config (random joint configs)', () => {
    const ids = fc.uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(ids, fc.array(fc.tuple(fc.constantFrom('addNode', 'addLearner', 'removeNode'), fc.integer({ min: 1, max: 8 })), { maxLength: 5 }), fc.boolean(), (voters, changes, autoLeave) => {
        const t = tracker({ voters });
        let r;
        try {
          r = enterJoint({ tracker: t, lastIndex: 5 }, autoLeave, changes.map(([type, nodeId]) => ({ type, nodeId }) as ConfChangeSingle));
        } catch {
          return; // e.g. removed all voters
        }
        const cs = confStateOf(r.config);
        const back = restore({ tracker: new ProgressTracker(4, 0), lastIndex: 5 }, cs);
        expect(confStateOf(back.config)).toEqual(cs);
        expect([...back.progress.keys()].sort()).toEqual([...r.progress.keys()].sort());
      }),
      { numRuns: 2000 },
    );
  });
});
