import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { errorOf } from '../../test/support/error-of.js';
import { isUrlSource, matchContextSources, openBuildContext } from './build-context.js';

describe('the build context', () => {
  let dir: string;
  const where = { file: 'Dockerfile', line: 3, kind: 'COPY' };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-build-ctx-'));
    await mkdir(join(dir, 'src/sub'), { recursive: true });
    await mkdir(join(dir, 'node_modules/pkg'), { recursive: true });
    await writeFile(join(dir, 'src/a.js'), 'a');
    await writeFile(join(dir, 'src/b.js'), 'b');
    await writeFile(join(dir, 'src/sub/c.js'), 'c');
    await writeFile(join(dir, 'src/.env'), 'secret');
    await writeFile(join(dir, 'node_modules/pkg/index.js'), 'x');
    await writeFile(join(dir, 'node_modules/keep.txt'), 'k');
    await symlink('a.js', join(dir, 'src/link.js'));
    await writeFile(join(dir, '.dockerignore'), 'node_modules\n!node_modules/keep.txt\n**/.env\n');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves out what .dockerignore excludes, keeping ! exceptions', async () => {
    const ctx = await openBuildContext(dir);
    expect([...ctx.entries.keys()].sort()).toEqual(['.', '.dockerignore', 'node_modules/keep.txt', 'src', 'src/a.js', 'src/b.js', 'src/link.js', 'src/sub', 'src/sub/c.js']);
    expect(ctx.entries.get('src/link.js')).toMatchObject({ type: 'symlink', link: 'a.js' });
  });

  it('prefers <Dockerfile>.dockerignore beside the Dockerfile', async () => {
    await writeFile(join(dir, 'app.Dockerfile.dockerignore'), 'src/sub\n');
    const ctx = await openBuildContext(dir, { dockerfile: join(dir, 'app.Dockerfile') });
    expect(ctx.entries.has('src/sub/c.js')).toBe(false);
    expect(ctx.entries.has('node_modules/pkg/index.js')).toBe(true);
  });

  it('digests content, not mtimes: an edit changes the digest of the file and of its tree', async () => {
    const before = await openBuildContext(dir);
    const tree = await before.digest('src');
    const file = await before.digest('src/a.js');
    await writeFile(join(dir, 'src/b.js'), 'b');
    const touched = await openBuildContext(dir);
    expect(await touched.digest('src')).toBe(tree);
    await writeFile(join(dir, 'src/sub/c.js'), 'changed');
    const edited = await openBuildContext(dir);
    expect(await edited.digest('src')).not.toBe(tree);
    expect(await edited.digest('src/a.js')).toBe(file);
    // An ignored file never reaches a digest.
    await writeFile(join(dir, 'src/.env'), 'other secret');
    expect(await (await openBuildContext(dir)).digest('src')).toBe(await edited.digest('src'));
  });

  it('matches sources by path or pattern, with Docker errors naming the line', async () => {
    const ctx = await openBuildContext(dir);
    expect(matchContextSources(ctx, 'src/*.js', where).map((e) => e.rel)).toEqual(['src/a.js', 'src/b.js', 'src/link.js']);
    expect(matchContextSources(ctx, '/src/sub', where).map((e) => e.rel)).toEqual(['src/sub']);
    expect(matchContextSources(ctx, '.', where).map((e) => e.rel)).toEqual(['.']);
    expect(() => matchContextSources(ctx, 'src/.env', where)).toThrow(/excluded by .dockerignore/);
    expect(() => matchContextSources(ctx, '*.md', where)).toThrow(/no source files were specified/);
    expect(() => matchContextSources(ctx, '../etc/passwd', where)).toThrow(/outside the build context/);
    expect(errorOf(() => matchContextSources(ctx, 'missing', where))).toMatch(/^Dockerfile:3: COPY failed: file not found in build context/);
  });

  it('tells URL sources apart', () => {
    expect(isUrlSource('https://example.com/a.tgz')).toBe(true);
    expect(isUrlSource('git@github.com:a/b.git')).toBe(true);
    expect(isUrlSource('src/http.js')).toBe(false);
  });
});
