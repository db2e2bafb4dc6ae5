import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { CONFIG_YAML_OPTIONS, emitYaml } from './yaml-emit.js';

const reference = (tree: Record<string, unknown>): string => stringify(tree, CONFIG_YAML_OPTIONS);

/** Strings that exercise quoting: indicators, look-alikes of other types, spaces, newlines. */
const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom('', ' ', 'null', 'True', 'yes', '~', '0', '-1', '1.5', '1e3', '0x1F', '.inf', '.nan', '--- x', 'a: b', 'a #b', '#c', '- x', '@x', '`x',
    'nginx:latest', 'a:', ':a', '*x', '&x', '!x', '|', '>', '%x', '"q"', "'q'", '{x}', '[x]', 'a,b', 'x\ny', 'x\n', '\nx', '  x\n y', 'tab\tx', 'é', '80/tcp',
    '/tmp/a b', '${VAR}', 'a=b', 'a\\b', '1.2.3', '127.0.0.1', '0755', '+1', 'x\n\ny\n', 'trailing '),
  fc.stringMatching(/^[a-z0-9_./:@=+ -]{0,12}$/),
  fc.string({ unit: fc.constantFrom('a', '0', '.', '"', "'", ' ', ':', '#', '-', '\\', '\n', '\t', 'é', '~', '?', '{'), maxLength: 8 }),
);

const scalar = fc.oneof(tricky, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));

const tree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('map'), tie('seq')),
  map: fc.dictionary(tricky, tie('value'), { maxKeys: 5 }),
  seq: fc.array(tie('value'), { maxLength: 4 }),
}));

describe('emitYaml', () => {
  it('prints what yaml.stringify prints, on random trees', () => {
    fc.assert(
      fc.property(tree.map, (t) => {
        expect(emitYaml(t as Record<string, unknown>)).toBe(reference(t as Record<string, unknown>));
      }),
      { numRuns: 3000 },
    );
  });

  it('prints a compose-like tree as yaml.stringify does', () => {
    const t = {
      name: 'proj',
      services: {
        web: {
          command: ['sh', '-c', 'echo "hi"\nsleep 1'],
          environment: { A: '1', B: null, C: 'x y' },
          ports: [{ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' }],
          volumes: [],
          deploy: { resources: { limits: { cpus: 0.5, memory: '1073741824' } } },
          nested: [[1, [2, {}]], { a: [] }],
        },
      },
      'x-extra': { 'key with space': 1, 'true': 2, '80': 3 },
    };
    expect(emitYaml(t)).toBe(reference(t));
    expect(emitYaml({})).toBe(reference({}));
  });
});
