/**
 * Random and mutated compose trees through the model phases: each either loads or is rejected
 * with a TscError (a user-facing message), never a crash.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import type { ComposeTree } from '../phase.js';
import { PositionTable } from '../positions.js';
import { runModel } from './helpers.js';

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('80:80', './a:/b:ro', 'x:/y', '10s', '512m', 'service:a', 'a=b', 'CMD', '0.5', '[::1]:1:1/udp'),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'target', 'source', 'type', 'condition'), tie('v'), { maxKeys: 3 })),
})).v;
const attr = fc.constantFrom(
  'image', 'ports', 'volumes', 'environment', 'labels', 'env_file', 'networks', 'build', 'depends_on', 'secrets',
  'configs', 'ulimits', 'devices', 'healthcheck', 'logging', 'deploy', 'develop', 'extends', 'command', 'cpus',
  'mem_limit', 'network_mode', 'links', 'volumes_from', 'container_name', 'expose', 'tmpfs', 'dns', 'x-any',
);
const serviceArb = fc.dictionary(attr, value, { maxKeys: 5 });
const treeArb = fc.record({
  services: fc.dictionary(fc.constantFrom('a', 'b', 'c'), serviceArb, { maxKeys: 3 }),
  networks: fc.option(fc.dictionary(fc.constantFrom('a', 'front', 'default'), fc.oneof(fc.constant(null), value), { maxKeys: 2 }), { nil: undefined }),
  volumes: fc.option(fc.dictionary(fc.constantFrom('a', 'x'), fc.oneof(fc.constant(null), value), { maxKeys: 2 }), { nil: undefined }),
});

function loadsOrRejects(tree: ComposeTree): void {
  const ctx = { positions: new PositionTable('fuzz.yaml'), workingDir: '/w', projectName: 'fz', environment: {} };
  try {
    runModel(JSON.parse(JSON.stringify(tree)) as ComposeTree, ctx);
  } catch (e) {
    if (!isTscError(e)) throw e;
    expect(e.format()).toMatch(/^fuzz\.yaml/);
  }
}

describe('fuzz', () => {
  it('random documents load or give a compose error', () => {
    fc.assert(fc.property(treeArb, (t) => loadsOrRejects(t as ComposeTree)), { numRuns: 2000 });
  });

  it('valid documents with one value mutated load or give a compose error', () => {
    const base = {
      services: {
        web: { image: 'nginx', ports: ['80:80'], volumes: ['./a:/a'], depends_on: ['db'], healthcheck: { interval: '10s' } },
        db: { image: 'postgres', environment: ['A=1'], deploy: { resources: { limits: { cpus: '0.5', memory: '1g' } } } },
      },
    };
    const paths: Array<[string, string]> = [
      ['web', 'ports'], ['web', 'volumes'], ['web', 'depends_on'], ['web', 'healthcheck'], ['db', 'environment'], ['db', 'deploy'], ['web', 'image'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), value, ([svc, key], v) => {
        const t = structuredClone(base) as { services: Record<string, Record<string, unknown>> };
        (t.services[svc] as Record<string, unknown>)[key] = v;
        loadsOrRejects(t as unknown as ComposeTree);
      }),
      { numRuns: 2000 },
    );
  });
});
