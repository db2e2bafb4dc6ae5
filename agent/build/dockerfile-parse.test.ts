import { describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { parseDockerfile, parseGoDuration } from './dockerfile-parse.js';
import type { Instruction } from './dockerfile-parse.js';

const parse = (src: string): Instruction[] => parseDockerfile(src).instructions;
/** Drop `original` so rows stay short; one test checks `original` on its own. */
const shapes = (src: string): Record<string, unknown>[] =>
  parse(src).map((i) => {
    const { original: _o, ...rest } = i;
    return rest;
  });
const errorOf = (src: string): string => {
  try {
    parseDockerfile(src);
  } catch (e) {
    if (e instanceof TscError) return `${e.code} ${e.format()}`;
    throw e;
  }
  throw new Error('parsed without error');
};

const copyDefaults = { sources: [], inline: [], link: false, parents: false, exclude: [], keepGitDir: false };
const hcDefaults = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };

describe('parseDockerfile: lines, comments, directives', () => {
  it('reads directives at the top only, and the escape directive changes continuations', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1.7\n#escape = `\nFROM alpine\nRUN echo a `\n  b\n# escape=\\\n');
    expect(df.directives).toEqual({ syntax: 'docker/dockerfile:1.7', escape: '`' });
    expect(df.escape).toBe('`');
    expect(df.instructions.map((i) => [i.line, i.original])).toEqual([
      [3, 'FROM alpine'],
      [4, 'RUN echo a   b'],
    ]);
  });

  it('stops reading directives at the first other line, even a blank one or a comment', () => {
    expect(parseDockerfile('\n# escape=`\nFROM a\nRUN x \\\n y\n').directives).toEqual({});
    expect(parseDockerfile('# hello\n# escape=`\nFROM a\n').directives).toEqual({});
    expect(parseDockerfile('# unknown=1\n# syntax=x\nFROM a\n').directives).toEqual({});
  });

  it.each([
    ['# escape=x\nFROM a\n', "ERR_DOCKERFILE Dockerfile:1: invalid ESCAPE 'x'. Must be ` or \\"],
    ['# syntax=a\n# syntax=b\nFROM a\n', 'ERR_DOCKERFILE Dockerfile:2: only one syntax parser directive can be used'],
  ])('rejects bad directives: %j', (src, msg) => {
    expect(errorOf(src)).toBe(msg);
  });

  it('joins continuations, skipping comment lines and blank lines inside them (with a warning)', () => {
    const df = parseDockerfile('FROM a\nRUN apt-get update \\\n# a comment\n    # indented comment\n\n  && apt-get install x\nUSER me\n');
    expect(df.instructions.map((i) => [i.line, i.original])).toEqual([
      [1, 'FROM a'],
      [2, 'RUN apt-get update   && apt-get install x'],
      [7, 'USER me'],
    ]);
    expect(df.warnings).toEqual([{ line: 2, message: 'Empty continuation line found in: RUN apt-get update   && apt-get install x' }]);
  });

  it('handles CRLF, a BOM, indentation, lower-case instructions and trailing spaces after the escape', () => {
    expect(shapes('\ufeffFROM a\r\n  run echo \\  \r\n  hi\r\n')).toEqual([
      { kind: 'FROM', line: 1, image: 'a' },
      { kind: 'RUN', line: 2, command: { args: ['echo   hi'], prependShell: true }, heredocs: [], mounts: [] },
    ]);
  });

  it('ends a continuation at end of file', () => {
    expect(shapes('FROM a\nRUN a \\\n')).toEqual([
      { kind: 'FROM', line: 1, image: 'a' },
      { kind: 'RUN', line: 2, command: { args: ['a'], prependShell: true }, heredocs: [], mounts: [] },
    ]);
  });
});

describe('parseDockerfile: heredocs', () => {
  it.each<[string, string, Record<string, unknown>[]]>([
    [
      'one heredoc, expanded',
      'FROM a\nRUN <<EOF\necho $HOME\n  two\nEOF\nUSER u\n',
      [
        { kind: 'FROM', line: 1, image: 'a' },
        {
          kind: 'RUN',
          line: 2,
          command: { args: ['<<EOF'], prependShell: true },
          heredocs: [{ name: 'EOF', content: 'echo $HOME\n  two\n', expand: true, chomp: false, fd: 0 }],
          mounts: [],
        },
        { kind: 'USER', line: 6, value: 'u' },
      ],
    ],
    [
      '<<- strips tabs from body and terminator; quoted delimiters are not expanded',
      "FROM a\nRUN <<-'X' 3<<\"Y\" python3 - 3<&0\n\tprint(1)\n\tX\n\tnot the end\nY\n",
      [
        { kind: 'FROM', line: 1, image: 'a' },
        {
          kind: 'RUN',
          line: 2,
          command: { args: ['<<-\'X\' 3<<"Y" python3 - 3<&0'], prependShell: true },
          heredocs: [
            { name: 'X', content: 'print(1)\n', expand: false, chomp: true, fd: 0 },
            { name: 'Y', content: '\tnot the end\n', expand: false, chomp: false, fd: 3 },
          ],
          mounts: [],
        },
      ],
    ],
    [
      'COPY with two inline files and a path',
      'FROM a\nCOPY <<one <<"two" ./c /dst/\n1\none\n$2\ntwo\n',
      [
        { kind: 'FROM', line: 1, image: 'a' },
        {
          kind: 'COPY',
          line: 2,
          ...copyDefaults,
          sources: ['./c'],
          inline: [
            { name: 'one', data: '1\n', expand: true },
            { name: 'two', data: '$2\n', expand: false },
          ],
          dest: '/dst/',
        },
      ],
    ],
    [
      'ONBUILD of a heredoc instruction keeps the body in its expression',
      'FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n',
      [
        { kind: 'FROM', line: 1, image: 'a' },
        {
          kind: 'ONBUILD',
          line: 2,
          expression: 'RUN <<EOF\necho hi\nEOF',
          trigger: {
            kind: 'RUN',
            line: 2,
            original: 'RUN <<EOF',
            command: { args: ['<<EOF'], prependShell: true },
            heredocs: [{ name: 'EOF', content: 'echo hi\n', expand: true, chomp: false, fd: 0 }],
            mounts: [],
          },
        },
      ],
    ],
    [
      'no heredoc in exec form or in other instructions',
      'FROM a\nRUN ["cat", "<<EOF"]\nCMD cat <<EOF\n',
      [
        { kind: 'FROM', line: 1, image: 'a' },
        { kind: 'RUN', line: 2, command: { args: ['cat', '<<EOF'], prependShell: false }, heredocs: [], mounts: [] },
        { kind: 'CMD', line: 3, command: { args: ['cat <<EOF'], prependShell: true } },
      ],
    ],
  ])('%s', (_name, src, expected) => {
    expect(shapes(src)).toEqual(expected);
  });

  it.each([
    ['FROM a\nRUN <<EOF\nnever ends\n', 'ERR_DOCKERFILE Dockerfile:2: unterminated heredoc'],
    ['FROM a\nCOPY x <<EOF\nEOF\n', 'ERR_DOCKERFILE Dockerfile:2: COPY cannot accept a heredoc as a destination'],
  ])('errors: %j', (src, msg) => {
    expect(errorOf(src)).toBe(msg);
  });
});

describe('parseDockerfile: instructions', () => {
  it.each<[string, Record<string, unknown>]>([
    ['FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder', { kind: 'FROM', image: 'golang:1.22', name: 'builder', platform: '$BUILDPLATFORM' }],
    ['FROM scratch', { kind: 'FROM', image: 'scratch' }],
    ['FROM base as b2', { kind: 'FROM', image: 'base', name: 'b2' }],
    ['RUN echo "a  b" && \\\n  true', { kind: 'RUN', command: { args: ['echo "a  b" &&   true'], prependShell: true }, heredocs: [], mounts: [] }],
    ['RUN ["echo", "a b"]', { kind: 'RUN', command: { args: ['echo', 'a b'], prependShell: false }, heredocs: [], mounts: [] }],
    ["RUN ['echo', 'x']", { kind: 'RUN', command: { args: ["['echo', 'x']"], prependShell: true }, heredocs: [], mounts: [] }],
    ['RUN [ "broken"', { kind: 'RUN', command: { args: ['[ "broken"'], prependShell: true }, heredocs: [], mounts: [] }],
    [
      'RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=s --network=none --security=insecure make',
      {
        kind: 'RUN',
        command: { args: ['make'], prependShell: true },
        heredocs: [],
        mounts: ['type=cache,target=/root/.cache', 'type=secret,id=s'],
        network: 'none',
        security: 'insecure',
      },
    ],
    ['CMD ["nginx", "-g", "daemon off;"]', { kind: 'CMD', command: { args: ['nginx', '-g', 'daemon off;'], prependShell: false } }],
    ['CMD []', { kind: 'CMD', command: { args: [], prependShell: false } }],
    ['CMD', { kind: 'CMD', command: { args: [], prependShell: true } }],
    ['ENTRYPOINT exec top -b', { kind: 'ENTRYPOINT', command: { args: ['exec top -b'], prependShell: true } }],
    ['SHELL ["powershell", "-command"]', { kind: 'SHELL', shell: ['powershell', '-command'] }],
    ['ENV A 1 2  3', { kind: 'ENV', pairs: [{ key: 'A', value: '1 2  3' }] }],
    ['ENV A=1 B="two words" C=a\\ b D=', { kind: 'ENV', pairs: [{ key: 'A', value: '1' }, { key: 'B', value: '"two words"' }, { key: 'C', value: 'a\\ b' }, { key: 'D', value: '' }] }],
    ['LABEL "com.example.x"="a b" version=1', { kind: 'LABEL', pairs: [{ key: '"com.example.x"', value: '"a b"' }, { key: 'version', value: '1' }] }],
    ['ARG A B=2 C="x y"', { kind: 'ARG', args: [{ name: 'A' }, { name: 'B', default: '2' }, { name: 'C', default: '"x y"' }] }],
    ['WORKDIR /app dir', { kind: 'WORKDIR', value: '/app dir' }],
    ['USER 1000:1000', { kind: 'USER', value: '1000:1000' }],
    ['EXPOSE 80/tcp  443 $P', { kind: 'EXPOSE', values: ['80/tcp', '443', '$P'] }],
    ['VOLUME ["/data", "/logs"]', { kind: 'VOLUME', values: ['/data', '/logs'] }],
    ['VOLUME /data /logs', { kind: 'VOLUME', values: ['/data', '/logs'] }],
    [
      'COPY --from=build --chown=app:app --chmod=0755 --link /out/ /bin/',
      { kind: 'COPY', ...copyDefaults, sources: ['/out/'], dest: '/bin/', from: 'build', chown: 'app:app', chmod: '0755', link: true },
    ],
    ['COPY --link=false ["a b", "c", "/d/"]', { kind: 'COPY', ...copyDefaults, sources: ['a b', 'c'], dest: '/d/' }],
    [
      'ADD --checksum=sha256:abc --keep-git-dir --exclude=*.md --exclude=x app.tar.gz /',
      { kind: 'ADD', ...copyDefaults, sources: ['app.tar.gz'], dest: '/', checksum: 'sha256:abc', keepGitDir: true, exclude: ['*.md', 'x'] },
    ],
    ['HEALTHCHECK NONE', { kind: 'HEALTHCHECK', test: ['NONE'], ...hcDefaults }],
    [
      'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD curl -f http://localhost/',
      {
        kind: 'HEALTHCHECK',
        test: ['CMD-SHELL', 'curl -f http://localhost/'],
        interval: 30e9,
        timeout: 90e9,
        startPeriod: 1.5e9,
        startInterval: 500e6,
        retries: 3,
      },
    ],
    ['HEALTHCHECK cmd ["wget", "-q", "x"]', { kind: 'HEALTHCHECK', test: ['CMD', 'wget', '-q', 'x'], ...hcDefaults }],
    ['STOPSIGNAL SIGTERM', { kind: 'STOPSIGNAL', value: 'SIGTERM' }],
    ['MAINTAINER Jane <j@example.com>', { kind: 'MAINTAINER', value: 'Jane <j@example.com>' }],
    [
      'ONBUILD COPY . /src',
      {
        kind: 'ONBUILD',
        expression: 'COPY . /src',
        trigger: { kind: 'COPY', line: 2, original: 'COPY . /src', ...copyDefaults, sources: ['.'], dest: '/src' },
      },
    ],
  ])('%s', (line, expected) => {
    const [, second] = shapes(`FROM a\n${line}\n`);
    expect(second).toEqual({ line: 2, ...expected });
  });

  it('keeps the original text of each instruction', () => {
    expect(parse('FROM a\n  RUN   echo hi  \n').map((i) => i.original)).toEqual(['FROM a', 'RUN   echo hi']);
  });

  it('allows ARG before the first FROM and no other instruction', () => {
    expect(shapes('ARG V=1\nFROM a:$V\n')).toEqual([
      { kind: 'ARG', line: 1, args: [{ name: 'V', default: '1' }] },
      { kind: 'FROM', line: 2, image: 'a:$V' },
    ]);
  });

  it.each([
    ['', 'Dockerfile:1: file with no instructions'],
    ['# only a comment\n', 'Dockerfile:1: file with no instructions'],
    ['RUN x\n', 'Dockerfile:1: RUN: no build stage in current context\nhint: a Dockerfile starts with FROM; only ARG may come before the first FROM'],
    ['FROM a\nFOO bar\n', 'Dockerfile:2: unknown instruction: FOO'],
    ['FROM\n', 'Dockerfile:1: FROM requires either one or three arguments'],
    ['FROM a AS\n', 'Dockerfile:1: FROM requires either one or three arguments'],
    ['FROM a AS 1st\n', 'Dockerfile:1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM --platfrm=x a\n', 'Dockerfile:1: unknown flag: platfrm'],
    ['FROM a\nCOPY --from x /y\n', 'Dockerfile:2: missing a value on flag: from'],
    ['FROM a\nCOPY --link=maybe x /y\n', 'Dockerfile:2: expecting boolean value for flag link, not: maybe'],
    ['FROM a\nCOPY --from=a --from=b x /y\n', 'Dockerfile:2: duplicate flag specified: from'],
    ['FROM a\nCOPY x\n', 'Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined.'],
    ['FROM a\nENV --x=1 A=1\n', 'Dockerfile:2: unknown flag: x'],
    ['FROM a\nENV A\n', 'Dockerfile:2: ENV must have two arguments'],
    ['FROM a\nENV A=1 B\n', 'Dockerfile:2: Syntax error - can\'t find = in "B". Must be of the form: name=value'],
    ['FROM a\nENV =1\n', 'Dockerfile:2: ENV names can not be blank'],
    ['FROM a\nARG =1\n', 'Dockerfile:2: ARG names can not be blank'],
    ['FROM a\nARG\n', 'Dockerfile:2: ARG requires at least one argument'],
    ['FROM a\nLABEL\n', 'Dockerfile:2: LABEL requires at least one argument'],
    ['FROM a\nWORKDIR\n', 'Dockerfile:2: WORKDIR requires exactly one argument'],
    ['FROM a\nEXPOSE\n', 'Dockerfile:2: EXPOSE requires at least one argument'],
    ['FROM a\nVOLUME [""]\n', 'Dockerfile:2: VOLUME specified can not be an empty string'],
    ['FROM a\nSHELL /bin/bash -c\n', 'Dockerfile:2: SHELL requires the arguments to be in JSON form'],
    ['FROM a\nSHELL []\n', 'Dockerfile:2: SHELL requires at least one argument'],
    ['FROM a\nCMD ["a", 1]\n', 'Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only'],
    ['FROM a\nHEALTHCHECK NONE x\n', 'Dockerfile:2: HEALTHCHECK NONE takes no arguments'],
    ['FROM a\nHEALTHCHECK CMD\n', 'Dockerfile:2: Missing command after HEALTHCHECK CMD'],
    ['FROM a\nHEALTHCHECK RUN x\n', 'Dockerfile:2: Unknown type "RUN" in HEALTHCHECK (try CMD)'],
    ['FROM a\nHEALTHCHECK --interval=5 CMD x\n', 'Dockerfile:2: time: missing unit in duration "5"'],
    ['FROM a\nHEALTHCHECK --timeout=1us CMD x\n', 'Dockerfile:2: Interval "timeout" cannot be less than 1ms'],
    ['FROM a\nHEALTHCHECK --retries=-1 CMD x\n', 'Dockerfile:2: --retries cannot be negative (-1)'],
    ['FROM a\nHEALTHCHECK --retries=x CMD x\n', 'Dockerfile:2: strconv.ParseInt: parsing "x": invalid syntax'],
    ['FROM a\nONBUILD ONBUILD RUN x\n', "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['FROM a\nONBUILD FROM b\n', "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"],
    ['FROM a\nONBUILD BOGUS\n', 'Dockerfile:2: unknown instruction: BOGUS'],
    ['FROM a\n\n\nRUN a \\\n  b\nWORKDIR a b \\\n c\nUSER\n', 'Dockerfile:8: USER requires exactly one argument'],
  ])('error for %j', (src, msg) => {
    expect(errorOf(src)).toBe(`ERR_DOCKERFILE ${msg}`);
  });

  it('names the file it was given', () => {
    try {
      parseDockerfile('FROM a\nNOPE\n', { file: 'app/Dockerfile.dev' });
      expect.unreachable();
    } catch (e) {
      expect((e as TscError).format()).toBe('app/Dockerfile.dev:2: unknown instruction: NOPE');
    }
  });
});

describe('parseGoDuration', () => {
  it.each<[string, number | string]>([
    ['0', 0],
    ['1h2m3s', 3723e9],
    ['1.5s', 1.5e9],
    ['.5ms', 0.5e6],
    ['-2us', -2000],
    ['300ns', 300],
    ['', 'time: invalid duration ""'],
    ['s', 'time: invalid duration "s"'],
    ['3d', 'time: unknown unit "d" in duration "3d"'],
  ])('%j', (s, want) => {
    if (typeof want === 'number') expect(parseGoDuration(s)).toBe(want);
    else expect(() => parseGoDuration(s)).toThrow(want);
  });
});
