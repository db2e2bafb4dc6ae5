import { describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { cleanPath, compileDockerignore, parseDockerignore, readDockerignore } from './dockerignore.js';

describe('cleanPath (filepath.Clean)', () => {
  it.each([
    ['', '.'],
    ['.', '.'],
    ['a/', 'a'],
    ['./a//b/./c/', 'a/b/c'],
    ['a/../../b', '../b'],
    ['/../a', '/a'],
    ['/', '/'],
    ['a/b/..', 'a'],
  ])('%j → %j', (p, want) => {
    expect(cleanPath(p)).toBe(want);
  });
});

describe('readDockerignore (ignorefile.ReadAll)', () => {
  it('drops comments and blanks, trims, cleans, strips the leading slash, keeps lines', () => {
    const text = '\ufeff# comment\n\n  node_modules/  \n/build\n! /dist//keep/\n #not a comment\n./a/../b\n/\n';
    expect(readDockerignore(text)).toEqual([
      { pattern: 'node_modules', line: 3 },
      { pattern: 'build', line: 4 },
      { pattern: '!dist/keep', line: 5 },
      { pattern: '#not a comment', line: 6 },
      { pattern: 'b', line: 7 },
      { pattern: '/', line: 8 },
    ]);
  });
});

describe('one pattern (patternmatcher cases)', () => {
  it.each<[string, string, boolean]>([
    ['**', 'file', true],
    ['**', 'file/', true],
    ['**/', 'file', true],
    ['**', '/', true],
    ['**', 'dir/file', true],
    ['**/**', 'dir/file', true],
    ['dir/**', 'dir/file', true],
    ['dir/**', 'dir/dir2/file', true],
    ['**/dir', 'dir', true],
    ['**/dir', 'dir/file', true],
    ['**/dir2/*', 'dir/dir2/file', true],
    ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**file', 'file', true],
    ['**file', 'dir/dir/file', true],
    ['**file', 'myfile', true],
    ['**/file', 'myfile', false],
    ['a**', 'abc/d', true],
    ['a**', 'b/a', false],
    ['**/file*.txt', 'dir/dir/file.txt', true],
    ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['**/*.txt', 'file.txt', true],
    ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false],
    ['a/*.txt', 'a/file.txt', true],
    ['a[b-d]e', 'ae', false],
    ['a[b-d]e', 'ace', true],
    ['a[b-d]e', 'aae', false],
    ['a[^b-d]e', 'aze', true],
    ['a[^b-d]e', 'ace', false],
    ['.*', '.foo', true],
    ['.*', 'foo', false],
    ['abc.def', 'abcZdef', false],
    ['abc.def', 'abc.def', true],
    ['abc?def', 'abcZdef', true],
    ['abc?def', 'abcdef', false],
    ['a?c', 'a/c', false],
    ['*', 'a/b', true],
    ['*.go', 'pkg/x.go', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a\\\\', 'a\\', true],
    ['**/foo/bar', 'foo/bar', true],
    ['**/foo/bar', 'dir/dir2/foo/bar', true],
    ['abc/**', 'abc', false],
    ['abc/**', 'abc/def/ghi', true],
    ['**/.foo', 'bar.foo', false],
    ['a(b)c/def', 'a(b)c/def', true],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['docs', 'docs/a/b.md', true],
    ['docs', 'docsx/a', false],
    ['../x', 'x', false],
  ])('%j on %j → %s', (pattern, path, want) => {
    expect(compileDockerignore([pattern]).matches(path)).toBe(want);
  });
});

describe('exceptions and walking', () => {
  const ig = parseDockerignore(
    ['*.md', '!README.md', 'build', '!build/keep', 'logs/**', '!logs/**/*.important', 'node_modules', 'tmp', '!**/tmp/.keep'].join('\n'),
  );

  it.each<[string, boolean]>([
    ['CHANGES.md', true],
    ['README.md', false],
    ['docs/x.md', false],
    ['build', true],
    ['build/out.o', true],
    ['build/keep', false],
    ['build/keep/inner', false],
    ['logs/a.log', true],
    ['logs/x/y.important', false],
    ['node_modules/x/index.js', true],
    ['src/index.ts', false],
    ['tmp/.keep', false],
    ['tmp/junk', true],
  ])('%s excluded: %s', (path, want) => {
    expect(ig.matches(path)).toBe(want);
  });

  it('never excludes the context root itself', () => {
    expect(parseDockerignore('**\n*\n').matches('.')).toBe(false);
    expect(parseDockerignore('**\n*\n').matches('./')).toBe(false);
    expect(parseDockerignore('**\n').matches('x')).toBe(true);
  });

  it('the last matching pattern wins', () => {
    const p = parseDockerignore('!a\na\n');
    expect(p.matches('a')).toBe(true);
    expect(parseDockerignore('a\n!a\n').matches('a')).toBe(false);
    expect(parseDockerignore('*\n!src\nsrc/gen\n').matches('src/gen/x.ts')).toBe(true);
    expect(parseDockerignore('*\n!src\nsrc/gen\n').matches('src/main.ts')).toBe(false);
  });

  it.each<[string, boolean]>([
    ['src', true],
    // `!**/tmp/.keep` could match node_modules/x/tmp/.keep, so it must be walked.
    ['node_modules', true],
    ['build', true],
    ['logs', true],
    ['tmp', true],
  ])('descends into %s: %s', (dir, want) => {
    expect(ig.shouldDescend(dir)).toBe(want);
  });

  it('keeps a file an exception reaches deep inside an excluded directory', () => {
    expect(ig.matches('node_modules/x/tmp/.keep')).toBe(false);
  });

  it('skips an excluded directory no exception can reach, even when others have exceptions', () => {
    const p = parseDockerignore('vendor\ncache\n!cache/*/keep\n!vendor-list\n');
    expect(p.shouldDescend('vendor')).toBe(false);
    expect(p.shouldDescend('cache')).toBe(true);
    expect(p.shouldDescend('cache/a')).toBe(true);
    expect(p.shouldDescend('cache/a/b')).toBe(false);
    expect(parseDockerignore('x\n').shouldDescend('x')).toBe(false);
  });

  it.each([
    ['!\n', '.dockerignore:1: illegal exclusion pattern: "!"'],
    ['ok\n[a-\n', '.dockerignore:2: syntax error in pattern: "[a-"'],
    ['a\\\n', '.dockerignore:1: syntax error in pattern: "a\\\\"'],
  ])('errors: %j', (text, msg) => {
    let err: unknown;
    try {
      parseDockerignore(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).format()).toBe(msg);
  });
});
