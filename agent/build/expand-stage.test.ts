import { describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { parseDockerfile } from './dockerfile-parse.js';
import type { ArgInstruction, FromInstruction, Instruction } from './dockerfile-parse.js';
import { expandFrom, expandStage, metaArgScope } from './expand-stage.js';
import type { BuildArgsContext } from './expand-stage.js';

const ctx = (buildArgs: Record<string, string> = {}): BuildArgsContext => ({
  buildArgs,
  buildPlatform: { os: 'linux', architecture: 'amd64' },
  targetPlatform: { os: 'linux', architecture: 'arm', variant: 'v7' },
});

/** Parse a one-stage Dockerfile and expand it; returns FROM and the stage's expanded lines. */
function expand(src: string, buildArgs: Record<string, string> = {}, baseEnv: string[] = []) {
  const all = parseDockerfile(src).instructions;
  const fromAt = all.findIndex((i) => i.kind === 'FROM');
  const c = ctx(buildArgs);
  const meta = metaArgScope(all.slice(0, fromAt) as ArgInstruction[], c);
  const from = expandFrom(all[fromAt] as FromInstruction, meta, c);
  const stage = expandStage(all.slice(fromAt + 1), { meta, baseEnv, ctx: c });
  return { from, ...stage };
}
const pick = (i: Instruction): unknown => {
  const { line: _l, original: _o, kind, ...rest } = i;
  return { kind, ...rest };
};

describe('ARG and ENV scoping', () => {
  it('expands FROM with global ARGs and the automatic platform ARGs', () => {
    const { from } = expand('ARG TAG=3.19\nARG REG\nFROM --platform=$BUILDPLATFORM ${REG:-docker.io}/alpine:$TAG-$TARGETARCH$TARGETVARIANT\n');
    expect([from.image, from.platform]).toEqual(['docker.io/alpine:3.19-armv7', 'linux/amd64']);
  });

  it('lets --build-arg override a global default, and later globals see earlier ones', () => {
    const { from } = expand('ARG V=1\nARG IMG=base:$V\nFROM $IMG\n', { V: '2' });
    expect(from.image).toBe('base:2');
  });

  it('hides global ARGs inside a stage until re-declared, and then gives their value', () => {
    const { instructions } = expand('ARG V=1\nFROM a\nWORKDIR /w$V\nARG V\nWORKDIR /w$V\nARG TARGETOS\nUSER $TARGETOS\n');
    expect(instructions.map(pick)).toEqual([
      { kind: 'WORKDIR', value: '/w' },
      { kind: 'ARG', args: [{ name: 'V', default: '1' }] },
      { kind: 'WORKDIR', value: '/w1' },
      { kind: 'ARG', args: [{ name: 'TARGETOS', default: 'linux' }] },
      { kind: 'USER', value: 'linux' },
    ]);
  });

  it('ignores undeclared build args, and lets ENV override ARG', () => {
    const { instructions, env } = expand(
      'FROM a\nUSER $NOPE\nARG CONT=x\nENV CONT=v1.0.0\nWORKDIR /$CONT\nENV A=1 B=$A\nENV A=2 C=$A\n',
      { NOPE: 'seen', CONT: 'from-cli' },
      ['PATH=/usr/bin', 'A=0'],
    );
    expect(instructions.map(pick)).toEqual([
      { kind: 'USER', value: '' },
      { kind: 'ARG', args: [{ name: 'CONT', default: 'from-cli' }] },
      { kind: 'ENV', pairs: [{ key: 'CONT', value: 'v1.0.0' }] },
      { kind: 'WORKDIR', value: '/v1.0.0' },
      { kind: 'ENV', pairs: [{ key: 'A', value: '1' }, { key: 'B', value: '0' }] },
      { kind: 'ENV', pairs: [{ key: 'A', value: '2' }, { key: 'C', value: '1' }] },
    ]);
    expect(env).toEqual(['PATH=/usr/bin', 'A=2', 'CONT=v1.0.0', 'B=0', 'C=1']);
  });

  it('passes declared ARGs and predefined proxy args to RUN, not those ENV overrides', () => {
    const { instructions } = expand('FROM a\nARG X=1 Y=2 UNSET\nENV Y=env\nRUN env\n', { https_proxy: 'http://p:3128', OTHER: 'no' });
    expect(instructions[2]).toMatchObject({ kind: 'RUN', argEnv: [{ key: 'X', value: '1' }, { key: 'https_proxy', value: 'http://p:3128' }] });
  });

  it('expands each instruction as BuildKit does and leaves shell-run ones alone', () => {
    const { instructions } = expand(
      [
        'FROM a',
        'ENV D="/opt/my app" P=8080 NAME=web',
        'LABEL "org.$NAME"="port $P" plain=\'$P\'',
        'EXPOSE $P ${P}/udp',
        'VOLUME $D/data',
        'STOPSIGNAL SIG${NAME:+TERM}',
        'COPY --chown=$NAME:$NAME --from=stage-$NAME src/$NAME "$D/"',
        "COPY <<EOF <<'RAW' /etc/",
        'name="$NAME"',
        'EOF',
        '$NAME',
        'RAW',
        'RUN echo $NAME',
        'CMD ["$NAME"]',
        'ONBUILD RUN $NAME',
      ].join('\n'),
    );
    expect(instructions.map(pick)).toEqual([
      { kind: 'ENV', pairs: [{ key: 'D', value: '/opt/my app' }, { key: 'P', value: '8080' }, { key: 'NAME', value: 'web' }] },
      { kind: 'LABEL', pairs: [{ key: 'org.web', value: 'port 8080' }, { key: 'plain', value: '$P' }] },
      { kind: 'EXPOSE', values: ['8080', '8080/udp'] },
      { kind: 'VOLUME', values: ['/opt/my app/data'] },
      { kind: 'STOPSIGNAL', value: 'SIGTERM' },
      {
        kind: 'COPY',
        sources: ['src/web'],
        inline: [],
        dest: '/opt/my app/',
        from: 'stage-web',
        chown: 'web:web',
        link: false,
        parents: false,
        exclude: [],
        keepGitDir: false,
      },
      {
        kind: 'COPY',
        sources: [],
        inline: [
          { name: 'EOF', data: 'name="web"\n', expand: true },
          { name: 'RAW', data: '$NAME\n', expand: false },
        ],
        dest: '/etc/',
        link: false,
        parents: false,
        exclude: [],
        keepGitDir: false,
      },
      { kind: 'RUN', command: { args: ['echo $NAME'], prependShell: true }, heredocs: [], mounts: [], argEnv: [] },
      { kind: 'CMD', command: { args: ['$NAME'], prependShell: false } },
      {
        kind: 'ONBUILD',
        expression: 'RUN $NAME',
        trigger: { kind: 'RUN', line: 15, original: 'RUN $NAME', command: { args: ['$NAME'], prependShell: true }, heredocs: [], mounts: [] },
      },
    ]);
  });

  it.each([
    ['FROM a\nWORKDIR ${X:?needs X}\n', 'Dockerfile:2: WORKDIR: X: needs X'],
    ['FROM a\nUSER ${X\n', "Dockerfile:2: USER: syntax error: missing '}'"],
    ['ARG B\nFROM $B\n', 'Dockerfile:2: FROM: base name ($B) should not be blank'],
    ['ARG B=${\nFROM a\n', "Dockerfile:1: ARG: syntax error: missing '}'"],
    ['FROM a\nVOLUME $NONE\n', 'Dockerfile:2: VOLUME: VOLUME specified can not be an empty string'],
  ])('errors name the line and instruction: %j', (src, msg) => {
    let err: unknown;
    try {
      expand(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).format()).toBe(msg);
  });
});
