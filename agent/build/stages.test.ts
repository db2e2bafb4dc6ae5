import { describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { parseDockerfile } from './dockerfile-parse.js';
import type { BuildArgsContext } from './expand-stage.js';
import { buildStageGraph, stagesForTarget } from './stages.js';
import type { StageGraph } from './stages.js';

const ctx: BuildArgsContext = {
  buildArgs: {},
  buildPlatform: { os: 'linux', architecture: 'amd64' },
  targetPlatform: { os: 'linux', architecture: 'amd64' },
};
const graph = (src: string, buildArgs: Record<string, string> = {}): StageGraph =>
  buildStageGraph(parseDockerfile(src), { ...ctx, buildArgs });
const summary = (g: StageGraph): unknown[] =>
  g.stages.map((s) => ({
    index: s.index,
    name: s.name,
    base: s.base,
    dependsOn: s.dependsOn,
    copyFromImages: s.copyFromImages,
    lines: s.instructions.map((i) => i.line),
  }));
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof TscError) return e.format();
    throw e;
  }
  throw new Error('no error');
};

const multi = [
  'ARG GO=1.22', // 1
  'FROM golang:$GO AS Build', // 2
  'RUN go build', // 3
  'FROM build AS test', // 4
  'RUN go test', // 5
  'FROM scratch AS assets', // 6
  'COPY x /x', // 7
  'FROM alpine', // 8
  'COPY --from=build /out /bin', // 9
  'COPY --from=2 /x /x', // 10
  'COPY --from=nginx:1.25 /etc/nginx /etc/nginx', // 11
  'COPY --from=BUILD /more /more', // 12
].join('\n');

describe('buildStageGraph', () => {
  it('finds stages, bases and COPY --from dependencies', () => {
    expect(summary(graph(multi))).toEqual([
      { index: 0, name: 'build', base: { kind: 'image', ref: 'golang:1.22' }, dependsOn: [], copyFromImages: [], lines: [3] },
      { index: 1, name: 'test', base: { kind: 'stage', index: 0 }, dependsOn: [0], copyFromImages: [], lines: [5] },
      { index: 2, name: 'assets', base: { kind: 'scratch' }, dependsOn: [], copyFromImages: [], lines: [7] },
      { index: 3, name: undefined, base: { kind: 'image', ref: 'alpine' }, dependsOn: [0, 2], copyFromImages: ['nginx:1.25'], lines: [9, 10, 11, 12] },
    ]);
  });

  it('treats FROM of a later stage name as an image, COPY --from of a later stage as that stage', () => {
    expect(summary(graph('FROM later AS first\nCOPY --from=later /a /a\nFROM alpine AS later\n'))).toEqual([
      { index: 0, name: 'first', base: { kind: 'image', ref: 'later' }, dependsOn: [1], copyFromImages: [], lines: [2] },
      { index: 1, name: 'later', base: { kind: 'image', ref: 'alpine' }, dependsOn: [], copyFromImages: [], lines: [] },
    ]);
  });

  it('expands --from and FROM with global ARGs and build args', () => {
    const g = graph('ARG SRC=one\nFROM a AS one\nFROM a AS two\nFROM b\nCOPY --from=$SRC /x /x\n', { SRC: 'two' });
    expect(g.stages[2]?.dependsOn).toEqual([1]);
  });

  it('warns about duplicate stage names (the last one wins)', () => {
    const g = graph('FROM a AS x\nFROM b AS x\nFROM c\nCOPY --from=x /a /a\n');
    expect(g.warnings).toEqual([{ line: 2, message: 'Duplicate stage name "x", stage names should be unique' }]);
    expect(g.stages[2]?.dependsOn).toEqual([1]);
  });

  it.each([
    ['FROM a AS x\nCOPY --from=y /a /a\nFROM b AS y\nCOPY --from=x /b /b\n', 'Dockerfile:1: circular dependency detected on stage: x (x -> y -> x)'],
    ['FROM a AS self\nCOPY --from=self /a /a\n', 'Dockerfile:1: circular dependency detected on stage: self (self -> self)'],
    ['FROM a\nCOPY --from=1 /a /a\n', 'Dockerfile:2: COPY: invalid stage index 1\nhint: the Dockerfile has 1 stage(s), numbered from 0'],
    ['FROM a\nCOPY --from=${X /a /a\n', "Dockerfile:2: COPY: syntax error: missing '}'"],
  ])('errors: %j', (src, msg) => {
    expect(errorOf(() => graph(src))).toBe(msg);
  });
});

describe('stagesForTarget', () => {
  const g = graph(multi);
  it.each<[string | undefined, (number | string)[]]>([
    [undefined, [0, 2, 3]],
    ['test', [0, 1]],
    ['TEST', [0, 1]],
    ['build', [0]],
    ['assets', [2]],
  ])('target %s builds only what it needs', (target, want) => {
    expect(stagesForTarget(g, target).map((s) => s.index)).toEqual(want);
  });

  it('orders a dependency on a later stage before its user', () => {
    const later = graph('FROM a AS first\nCOPY --from=later /a /a\nFROM alpine AS later\n');
    expect(stagesForTarget(later, 'first').map((s) => s.index)).toEqual([1, 0]);
  });

  it('names the known stages when the target is unknown', () => {
    expect(errorOf(() => stagesForTarget(g, 'prod'))).toBe('Dockerfile: target stage "prod" could not be found\nhint: stages: build, test, assets');
    expect(errorOf(() => stagesForTarget(graph('FROM a\n'), 'x', { file: 'app/Dockerfile' }))).toBe(
      'app/Dockerfile: target stage "x" could not be found\nhint: the Dockerfile names no stage (FROM image AS name)',
    );
  });
});
