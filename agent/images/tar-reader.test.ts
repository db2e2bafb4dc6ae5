import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { decompress } from './decompress.js';
import { BLOCK, headerChecksum } from './tar-header.js';
import type { TarEntry } from './tar-header.js';
import { readTar } from './tar-reader.js';
import { TAR_END, tarBuffer } from './tar-writer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Feed a buffer in small odd-sized chunks, as a network would. */
async function* chunked(b: Buffer, size = 97): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function readAll(b: Buffer | AsyncIterable<Buffer>): Promise<Array<{ entry: TarEntry; data: string }>> {
  const out: Array<{ entry: TarEntry; data: string }> = [];
  for await (const { entry, body } of readTar(Buffer.isBuffer(b) ? chunked(b) : b)) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c);
    out.push({ entry, data: Buffer.concat(parts).toString() });
  }
  return out;
}

async function expectImageError(p: Promise<unknown>, text: string, code = 'ERR_IMAGE'): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(isTscError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toContain(text);
}

describe('readTar', () => {
  it('reads what the writer wrote: types, modes, owners, long names, xattrs', async () => {
    const longName = 'deep/' + 'x'.repeat(150) + '/file.txt';
    const archive = tarBuffer([
      { name: 'etc/', type: 'dir', mode: 0o755 },
      { name: 'etc/passwd', data: 'root:x:0:0\n', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000 },
      { name: 'bin/su', data: 'ELF', mode: 0o4755, uid: 0, gid: 0 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/sh2', type: 'link', linkname: 'bin/su' },
      { name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: longName, data: 'long', uid: 3000000, gid: 70000 },
      { name: 'gnu/' + 'y'.repeat(120), data: 'gnu', longNames: 'gnu' },
      { name: 'ln/' + 'z'.repeat(120), type: 'symlink', linkname: 't'.repeat(200), longNames: 'gnu' },
      { name: 'bin/ping', data: 'ping', xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2]), 'user.note': 'hi' } },
      { name: 'frac', data: '', mtime: 1700000000.5 },
    ]);
    const got = await readAll(archive);
    expect(got.map((g) => g.entry.name)).toEqual([
      'etc/', 'etc/passwd', 'bin/su', 'bin/sh', 'bin/sh2', 'dev/null', 'run/fifo', longName,
      'gnu/' + 'y'.repeat(120), 'ln/' + 'z'.repeat(120), 'bin/ping', 'frac',
    ]);
    const by = new Map(got.map((g) => [g.entry.name, g]));
    expect(by.get('etc/passwd')).toMatchObject({ data: 'root:x:0:0\n', entry: { type: 'file', mode: 0o644, mtime: 1700000000, size: 11 } });
    expect(by.get('bin/su')?.entry.mode).toBe(0o4755);
    expect(by.get('bin/sh')?.entry).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(by.get('bin/sh2')?.entry).toMatchObject({ type: 'link', linkname: 'bin/su' });
    expect(by.get('dev/null')?.entry).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
    expect(by.get('run/fifo')?.entry.type).toBe('fifo');
    expect(by.get(longName)).toMatchObject({ data: 'long', entry: { uid: 3000000, gid: 70000 } });
    expect(by.get('gnu/' + 'y'.repeat(120))?.data).toBe('gnu');
    expect(by.get('ln/' + 'z'.repeat(120))?.entry.linkname).toBe('t'.repeat(200));
    const ping = by.get('bin/ping')?.entry;
    expect(ping?.xattrs['security.capability']).toEqual(Buffer.from([1, 0, 0, 2]));
    expect(ping?.xattrs['user.note']?.toString()).toBe('hi');
    expect(by.get('frac')?.entry.mtime).toBe(1700000000.5);
  });

  it('skips bodies the caller does not read, and bodies read halfway', async () => {
    const big = 'a'.repeat(5000);
    const archive = tarBuffer([{ name: 'a', data: big }, { name: 'b', data: big }, { name: 'c', data: 'c' }]);
    const names: string[] = [];
    for await (const { entry, body } of readTar(chunked(archive, 1000))) {
      names.push(entry.name);
      if (entry.name === 'b') {
        for await (const c of body) {
          expect(c.length).toBeGreaterThan(0);
          break;
        }
      }
    }
    expect(names).toEqual(['a', 'b', 'c']);
  });

  it('reads GNU tar output (ustar prefix, long names, hard links)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsc-tar-'));
    dirs.push(dir);
    const long = 'p'.repeat(60) + '/' + 'q'.repeat(60); // splits into ustar prefix + name
    await mkdir(join(dir, 'src', long), { recursive: true });
    await writeFile(join(dir, 'src', long, 'f'), 'hello');
    execFileSync('ln', [join(dir, 'src', long, 'f'), join(dir, 'src/hard')]);
    await symlink('f', join(dir, 'src/sym'));
    for (const format of ['gnu', 'pax', 'ustar']) {
      const tar = execFileSync('tar', [`--format=${format}`, '-C', join(dir, 'src'), '--sort=name', '-cf', '-', '.']);
      const got = await readAll(tar);
      const names = got.map((g) => g.entry.name);
      expect(names).toContain('./sym');
      {
        expect(names).toContain(`./${long}/f`);
        // --sort=name stores ./hard first, so the long-named file is the link to it.
        const linked = got.find((g) => g.entry.type === 'link');
        expect(linked?.entry.name).toBe(`./${long}/f`);
        expect(linked?.entry.linkname).toBe('./hard');
      }
    }
  });

  it('reads gzip streams and refuses zstd with a clear error', async () => {
    const archive = tarBuffer([{ name: 'x', data: 'zipped' }]);
    const items: string[] = [];
    for await (const { entry, body } of readTar(decompress(chunked(gzipSync(archive)), 'layer'))) {
      let s = '';
      for await (const c of body) s += c.toString();
      items.push(`${entry.name}=${s}`);
    }
    expect(items).toEqual(['x=zipped']);
    const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    await expectImageError(readAll(decompress(chunked(zstdMagic), 'layer sha256:abc')), 'zstd', 'ERR_UNSUPPORTED');
  });

  it('fails cleanly on truncation, bad checksums and corrupt gzip', async () => {
    const archive = tarBuffer([{ name: 'x', data: 'y'.repeat(2000) }], false);
    await expectImageError(readAll(archive.subarray(0, 1500)), 'unexpected end of archive');
    await expectImageError(readAll(archive.subarray(0, 300)), 'unexpected end of archive');
    const bad = Buffer.from(archive);
    bad[10] = 0x41;
    await expectImageError(readAll(bad), 'bad header checksum');
    await expectImageError(readAll(Buffer.from('this is not a tar archive at all'.repeat(20))), 'bad header checksum');
    const gz = gzipSync(archive);
    gz[gz.length - 6] = (gz[gz.length - 6] ?? 0) ^ 0xff;
    const consume = async (): Promise<void> => {
      for await (const _c of decompress(chunked(gz), 'layer sha256:abc')) void _c;
    };
    await expectImageError(consume(), 'gzip data is corrupt');
  });

  it('refuses sparse files and unknown types rather than misreading them', async () => {
    const h = Buffer.alloc(BLOCK);
    h.write('sparse', 0);
    h.write('0000644\0', 100);
    h.write('00000000000\0', 124);
    h.write('S', 156);
    h.write('ustar  \0', 257);
    h.write(headerChecksum(h).toString(8).padStart(6, '0') + '\0 ', 148);
    await expectImageError(readAll(Buffer.concat([h, TAR_END])), 'GNU sparse file is not supported', 'ERR_UNSUPPORTED');
  });

  it('reads a header built by hand, byte by byte (old-style: no magic, trailing-space numbers)', async () => {
    const h = Buffer.alloc(BLOCK);
    h.write('hand/made.txt', 0);
    h.write('000644 \0', 100);
    h.write('001750 \0', 108);
    h.write('001750 \0', 116);
    h.write('00000000005 ', 124);
    h.write('14536141240 ', 136);
    h.write('0', 156);
    h.write(headerChecksum(h).toString(8).padStart(6, '0') + '\0 ', 148);
    const data = Buffer.alloc(BLOCK);
    data.write('hello');
    const got = await readAll(Buffer.concat([h, data, TAR_END]));
    expect(got).toHaveLength(1);
    expect(got[0]?.data).toBe('hello');
    expect(got[0]?.entry).toMatchObject({ name: 'hand/made.txt', uid: 1000, gid: 1000, mode: 0o644, mtime: 0o14536141240 });
  });
});
