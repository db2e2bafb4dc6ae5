import { describe, expect, it } from 'vitest';

import { interpolate } from './interpolate.js';
import { parseCompose } from './parse.js';
import type { ComposeTree } from './phase.js';
import { errorOf } from '../test/support/error-of.js';

function run(yaml: string, environment: Record<string, string>, onUnset?: (n: string, p: string) => void): ComposeTree {
  const [doc] = parseCompose(yaml, 'compose.yaml');
  const ctx = { positions: doc!.positions, workingDir: '/p', projectName: 'p', environment };
  return interpolate(doc!.tree, ctx, { onUnset });
}

describe('interpolate', () => {
  it('substitutes values in mappings and sequences, never keys', () => {
    const tree = run(
      'services:\n  web:\n    image: "nginx:${TAG:-latest}"\n    environment:\n      - A=$A\n    labels:\n      $A: x\n',
      { TAG: '1.25', A: 'aa' },
    );
    expect(tree).toEqual({ services: { web: { image: 'nginx:1.25', environment: ['A=aa'], labels: { $A: 'x' } } } });
  });

  it('keeps untouched scalars as they were and interpolated values as strings', () => {
    const tree = run('services:\n  web:\n    image: x\n    mem_limit: ${MEM}\n    stop_grace_period: 5s\n    x-n: 3\n', {
      MEM: '512m',
    });
    expect(tree).toEqual({ services: { web: { image: 'x', mem_limit: '512m', stop_grace_period: '5s', 'x-n': 3 } } });
  });

  it('casts interpolated numbers and booleans where the specification wants them', () => {
    const tree = run(
      'services:\n  web:\n    image: x\n    healthcheck:\n      retries: ${R}\n    tty: ${T}\n    cpus: ${C}\n    ports:\n      - target: ${P}\nnetworks:\n  n:\n    external: ${E}\n',
      { R: '3', T: 'true', C: '0.5', P: '80', E: 'false' },
    );
    expect(tree).toEqual({
      services: { web: { image: 'x', healthcheck: { retries: 3 }, tty: true, cpus: 0.5, ports: [{ target: 80 }] } },
      networks: { n: { external: false } },
    });
  });

  it('names the key and position when a cast fails', () => {
    expect(errorOf(() => run('services:\n  web:\n    healthcheck:\n      retries: ${R}\n', { R: 'many' }))).toBe(
      'compose.yaml:4:7 services.web.healthcheck.retries: expected an integer, got "many" after interpolation',
    );
  });

  it('names the variable, key path and position of a missing required value', () => {
    expect(errorOf(() => run('services:\n  web:\n    image: "nginx:${TAG:?set TAG to the release}"\n', {}))).toBe(
      'compose.yaml:3:5 services.web.image: required variable TAG is missing a value: set TAG to the release',
    );
    expect(errorOf(() => run('services:\n  web:\n    environment:\n      - X=${X?}\n', {}))).toBe(
      'compose.yaml:4:9 services.web.environment[0]: required variable X is missing a value',
    );
  });

  it('reports an invalid template with a hint', () => {
    expect(errorOf(() => run('services:\n  web:\n    command: echo ${oops\n', {}))).toBe(
      'compose.yaml:3:5 services.web.command: invalid interpolation format in "echo ${oops"\nhint: you may need to escape any $ with another $ ($$)',
    );
  });

  it('tells which variables were unset and where', () => {
    const seen: string[] = [];
    run('services:\n  web:\n    image: ${IMG}\n', {}, (n, p) => seen.push(`${n}@${p}`));
    expect(seen).toEqual(['IMG@services.web.image']);
  });
});
