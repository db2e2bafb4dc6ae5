import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseDotenv } from './dotenv.js';
import { resolveEnvironment } from './environment.js';
import { errorOf } from '../test/support/error-of.js';

describe('parseDotenv', () => {
  it.each([
    ['plain', 'A=1\nB=two words\n', { A: '1', B: 'two words' }],
    ['no final newline', 'A=1\nB=2', { A: '1', B: '2' }],
    ['empty value', 'A=\nB=""\nC=\'\'', { A: '', B: '', C: '' }],
    ['comments and blank lines', '# a comment\n\n  # indented\nA=1\n', { A: '1' }],
    ['inline comment after unquoted', 'URL=your-domain.dyndns.com # free examples\n', { URL: 'your-domain.dyndns.com' }],
    ['a # without a space before it is kept', 'A=abc#def\n', { A: 'abc#def' }],
    ['export prefix', 'export A=1\nexport  B="x"\n', { A: '1', B: 'x' }],
    ['spaces around =', 'A = 1  \n', { A: '1' }],
    ['yaml-style colon', 'A: 1\n', { A: '1' }],
    ['single quotes are literal', "A='$HOME \\n ${X}'\n", { A: '$HOME \\n ${X}' }],
    ['double quotes expand escapes', 'A="a\\nb\\t\\"c\\" \\\\ \\$d"\n', { A: 'a\nb\t"c" \\ $d' }],
    ['multi-line double-quoted', 'A="line1\nline2"\nB=3\n', { A: 'line1\nline2', B: '3' }],
    ['multi-line single-quoted', "A='l1\nl2'\n", { A: 'l1\nl2' }],
    ['comment after a quoted value', 'A="x y" # note\n', { A: 'x y' }],
    ['reference to an earlier variable', 'A=1\nB=${A}-2\nC="$A$B"\nD=\'$A\'\n', { A: '1', B: '1-2', C: '11-2', D: '$A' }],
    ['default in a reference', 'B=${NOPE:-dflt}\n', { B: 'dflt' }],
    ['CRLF line ends', 'A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['dots and dashes in names', 'a.b-c=1\n', { 'a.b-c': '1' }],
    ['= inside the value', 'A=x=y\n', { A: 'x=y' }],
  ])('%s', (_name, text, expected) => {
    expect(parseDotenv(text, '.env')).toEqual(expected);
  });

  it('looks references up in the shell before earlier keys, and takes bare keys from it', () => {
    const shell: Record<string, string> = { A: 'shell', HOME: '/root' };
    const lookup = (n: string): string | undefined => shell[n];
    expect(parseDotenv('A=file\nB=$A\nHOME\nMISSING\nC=$HOME/x\n', '.env', lookup)).toEqual({
      A: 'file',
      B: 'shell',
      HOME: '/root',
      C: '/root/x',
    });
  });

  it.each([
    ['A="unterminated\nB=1\n', '.env:1: unterminated quoted value "unterminated'],
    ['A=1\nB$C=1\n', '.env:2: unexpected character "$" in variable name "B$C=1"'],
    ['=1\n', '.env:1: missing variable name'],
    ['A B=1\n', '.env:1: unexpected character " " in variable name "A B"'],
    ['A="x" junk\n', '.env:1: unexpected characters after the quoted value of A: "junk"'],
    ['A=1\nB=${X:?X is needed}\n', '.env:2: required variable X is missing a value: X is needed'],
  ])('rejects %j', (text, message) => {
    expect(errorOf(() => parseDotenv(text, '.env'))).toBe(message);
  });
});

describe('resolveEnvironment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsc-dotenv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '.env'), 'A=dotenv\nB=dotenv\n');
  writeFileSync(join(dir, 'one.env'), 'A=one\nC=one\n');
  writeFileSync(join(dir, 'two.env'), 'C=two\nD=${C}-two\n');

  it('reads .env in the project directory; the shell wins', () => {
    const r = resolveEnvironment({ shell: { B: 'shell' }, envFiles: [], projectDir: dir, cwd: '/' });
    expect(r.environment).toEqual({ A: 'dotenv', B: 'shell' });
    expect(r.files).toEqual([join(dir, '.env')]);
  });

  it('replaces .env with --env-file files, a later file winning and seeing earlier ones', () => {
    const r = resolveEnvironment({ shell: {}, envFiles: ['one.env', 'two.env'], projectDir: dir, cwd: dir });
    expect(r.environment).toEqual({ A: 'one', C: 'two', D: 'two-two' });
  });

  it('reads COMPOSE_ENV_FILES when no --env-file is given', () => {
    const r = resolveEnvironment({ shell: { COMPOSE_ENV_FILES: 'one.env' }, envFiles: [], projectDir: dir, cwd: dir });
    expect(r.environment).toEqual({ A: 'one', C: 'one', COMPOSE_ENV_FILES: 'one.env' });
  });

  it('fails on a missing --env-file and ignores a missing .env', () => {
    expect(errorOf(() => resolveEnvironment({ shell: {}, envFiles: ['nope.env'], projectDir: dir, cwd: dir }))).toBe(
      `${join(dir, 'nope.env')}: couldn't find env file: ${join(dir, 'nope.env')}`,
    );
    expect(resolveEnvironment({ shell: {}, envFiles: [], projectDir: join(dir, 'sub'), cwd: dir }).environment).toEqual({});
  });
});
