/**
 * Property: whatever sequence of entries a layer holds (names with `..`, `.`, absolute
 * paths, symlinks pointing out, hard links, whiteouts, replacements), extraction either
 * succeeds or refuses with a TscError, and nothing outside the layer directory changes.
 */
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { extractLayer } from './extract-layer.js';
import { tarBuffer } from './tar-writer.js';
import type { TarFileEntry } from './tar-writer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    const s = await lstat(p);
    out.push(`${name}:${s.mode}:${s.size}:${s.isFile() ? await readFile(p, 'utf8') : ''}`);
    if (s.isDirectory()) out.push(...(await snapshot(p)).map((x) => `${name}/${x}`));
  }
  return out;
}

describePrivileged('extractLayer never writes outside its directory (property)', [root, command('mknod'), command('setfattr')], () => {
  it('holds for random hostile layers', async () => {
    const base = await mkdtemp(join(tmpdir(), 'tsc-fuzz-'));
    dirs.push(base);
    const outside = join(base, 'outside');
    await mkdir(join(outside, 'sub'), { recursive: true });
    await writeFile(join(outside, 'secret'), 'untouched');
    const before = await snapshot(outside);

    const component = fc.constantFrom('a', 'b', 'sub', 'secret', '..', '.', '', '.wh.a', '.wh..wh..opq', 'outside');
    const name = fc.tuple(fc.boolean(), fc.array(component, { minLength: 1, maxLength: 5 })).map(([abs, parts]) => (abs ? '/' : '') + parts.join('/'));
    const target = fc.constantFrom(outside, join(outside, 'secret'), '..', '../..', '../outside', 'a', '/', '/etc', 'a/../..', 'sub');
    const entry: fc.Arbitrary<TarFileEntry> = fc.oneof(
      name.map((n) => ({ name: n, data: 'pwned' })),
      name.map((n) => ({ name: n, type: 'dir' as const })),
      fc.tuple(name, target).map(([n, t]) => ({ name: n, type: 'symlink' as const, linkname: t })),
      fc.tuple(name, fc.oneof(name, target)).map(([n, t]) => ({ name: n, type: 'link' as const, linkname: t })),
      name.map((n) => ({ name: n, type: 'fifo' as const })),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
        const layer = join(base, `layer${run++}`);
        await mkdir(layer);
        try {
          await extractLayer(once(tarBuffer(entries)), layer, { what: 'fuzz' });
        } catch (e) {
          if (!isTscError(e)) throw e;
        }
        expect(await snapshot(outside)).toEqual(before);
        const top = (await readdir(base)).filter((n) => !n.startsWith('layer'));
        expect(top).toEqual(['outside']);
        await rm(layer, { recursive: true, force: true });
      }),
      { numRuns: 300, seed: 20261123 },
    );
  });
});
