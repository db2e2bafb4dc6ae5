import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildMultiPlatformImage, buildOciImage } from '../../fixtures/oci-image.js';
import type { BuiltImage, BuiltIndex } from '../../fixtures/oci-image.js';
import { isTscError } from '../../lib/errors.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { getImage } from './image-resolve.js';
import { openImageStore } from './image-store.js';
import type { ImageStore } from './image-store.js';
import type { ImageConfig } from './media-types.js';
import { importOciDir } from './import-layout.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { pullServices } from './pull-services.js';
import type { PullProgress } from './pull.js';
import { snapshotPath } from './snapshots.js';
import { registryBlobPath, skopeoPush, startProxy, startRegistry } from '../../test/support/registry-harness.js';
import type { Proxy, RunningRegistry } from '../../test/support/registry-harness.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
let registry: RunningRegistry;
let image: BuiltImage;
let multi: BuiltIndex;
const fast = { retries: 2, backoffMs: 20, authFile: '/nonexistent/config.json' };

async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function newStore(): Promise<ImageStore> {
  return openImageStore(await tmp('tsc-pull-store-'));
}

async function caught(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

async function expectNothingStored(store: ImageStore): Promise<void> {
  expect(await store.listImages()).toEqual([]);
  expect(await readdir(join(store.root, 'ingest'))).toEqual([]);
}

describePrivileged('pull from a real registry', [root, command('docker-registry'), command('skopeo'), command('busybox'), command('tar'), command('setfattr')], () => {
  beforeAll(async () => {
    const layout = await tmp('tsc-pull-layout-');
    image = await buildOciImage(layout, { tag: 'v1' });
    multi = await buildMultiPlatformImage(layout, { tag: 'multi' });
    // buildMultiPlatformImage rewrote index.json: put v1 back next to it.
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: object[] };
    index.manifests.push({ ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } });
    await writeFile(join(layout, 'index.json'), JSON.stringify(index));
    registry = await startRegistry();
    cleanups.push(registry.stop);
    await skopeoPush(layout, 'v1', `${registry.host}/fixture:v1`);
    await skopeoPush(layout, 'multi', `${registry.host}/multi:1`, true);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('pulls by tag, verifies every blob and unpacks the layers', async () => {
    const store = await newStore();
    const events: PullProgress[] = [];
    const r = await pullImage(store, `${registry.host}/fixture:v1`, { ...fast, unpack: true, onProgress: (e) => events.push(e) });
    expect(r.name).toBe(`${registry.host}/fixture:v1`);
    expect(r.manifestDigest).toBe(image.manifest.digest);
    expect(r.configDigest).toBe(image.configDigest);
    expect(r.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    for (const l of image.layers) {
      expect(await store.hasBlob(l.digest)).toBe(true);
      expect((await stat(snapshotPath(store, l.diffId))).isDirectory()).toBe(true);
    }
    expect(events.filter((e) => e.kind === 'layer' && e.status === 'verified')).toHaveLength(2);
    const img = await getImage(store, `${registry.host}/fixture:v1`);
    expect(img.config.config?.Cmd).toEqual(['/bin/sh']);
    expect(await readFile(join(snapshotPath(store, image.layers[1]?.diffId ?? ''), 'etc/motd'), 'utf8')).toBe('layer 2\n');
  });

  it('pulls by digest, and does not fetch layers it has', async () => {
    const store = await newStore();
    await pullImage(store, `${registry.host}/fixture:v1`, fast);
    const events: PullProgress[] = [];
    const r = await pullImage(store, `${registry.host}/fixture@${image.manifest.digest}`, { ...fast, onProgress: (e) => events.push(e) });
    expect(r.name).toBe(`${registry.host}/fixture@${image.manifest.digest}`);
    expect(events.filter((e) => e.kind === 'layer').map((e) => (e as { status: string }).status)).toEqual(['exists', 'exists']);
    expect((await store.listImages()).map((i) => i.name).sort()).toEqual([`${registry.host}/fixture:v1`, `${registry.host}/fixture@${image.manifest.digest}`]);
    const missing = await caught(pullImage(await newStore(), `${registry.host}/fixture@sha256:${'0'.repeat(64)}`, fast));
    expect(missing.code).toBe('ERR_NOT_FOUND');
    const noRepo = await caught(pullImage(await newStore(), `${registry.host}/nope:v1`, fast));
    expect(noRepo.code).toBe('ERR_NOT_FOUND');
    expect(noRepo.message).toContain('manifest unknown');
  });

  it('picks the platform from a multi-platform index', async () => {
    for (const [platform, arch] of [['linux/amd64', 'amd64'], ['linux/arm64', 'arm64'], ['linux/arm64/v8', 'arm64']] as const) {
      const store = await newStore();
      const r = await pullImage(store, `${registry.host}/multi:1`, { ...fast, platform });
      expect(r.target.digest).toBe(multi.index.digest);
      const img = await getImage(store, `${registry.host}/multi:1`, { os: 'linux', architecture: arch });
      expect((img.config as ImageConfig).architecture).toBe(arch);
      expect(img.manifestDigest).toBe(multi.images[arch === 'amd64' ? 0 : 1]?.manifest.digest);
    }
    const store = await newStore();
    const err = await caught(pullImage(store, `${registry.host}/multi:1`, { ...fast, platform: 'linux/s390x' }));
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect(err.message).toContain('no matching manifest for linux/s390x');
    expect(err.message).toContain('linux/amd64, linux/arm64');
    await expectNothingStored(store);
  });

  it('authenticates with a bearer token from the challenge, with credentials from config.json', async () => {
    const scopes: string[] = [];
    let tokenPort = 0;
    const tokenServer = await startProxy(registry.port, {
      handle: (req: IncomingMessage, res: ServerResponse) => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname !== '/token') return false;
        scopes.push(`${u.searchParams.get('service')} ${u.searchParams.get('scope')}`);
        const ok = req.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(ok ? JSON.stringify({ token: 'good-token', expires_in: 300 }) : '{"errors":[{"code":"UNAUTHORIZED"}]}');
        return true;
      },
    });
    cleanups.push(tokenServer.close);
    tokenPort = tokenServer.port;
    const guarded: Proxy = await startProxy(registry.port, {
      handle: (req, res) => {
        if (req.headers.authorization === 'Bearer good-token') return false;
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://127.0.0.1:${tokenPort}/token",service="tsc-test-registry"`,
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return true;
      },
    });
    cleanups.push(guarded.close);
    const authDir = await tmp('tsc-pull-auth-');
    const authFile = join(authDir, 'config.json');
    await writeFile(authFile, JSON.stringify({ auths: { [guarded.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));

    const store = await newStore();
    const r = await pullImage(store, `${guarded.host}/fixture:v1`, { ...fast, authFile });
    expect(r.manifestDigest).toBe(image.manifest.digest);
    expect(scopes[0]).toBe('tsc-test-registry repository:fixture:pull');

    const anonymous = await newStore();
    const noCreds = await caught(pullImage(anonymous, `${guarded.host}/fixture:v1`, fast));
    expect(isTscError(noCreds, 'ERR_IMAGE')).toBe(true);
    expect(noCreds.message).toContain(`authentication to ${guarded.host} failed`);
    expect(noCreds.message).toContain('no credentials');
    await expectNothingStored(anonymous);

    await writeFile(authFile, JSON.stringify({ auths: { [guarded.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }));
    const wrong = await newStore();
    const bad = await caught(pullImage(wrong, `${guarded.host}/fixture:v1`, { ...fast, authFile }));
    expect(bad.message).toContain('credentials refused');
    await expectNothingStored(wrong);
  });

  it('uses basic auth when the registry asks for it, with credentials given directly (login)', async () => {
    const expected = `Basic ${Buffer.from('bob:pw').toString('base64')}`;
    const basic = await startProxy(registry.port, {
      handle: (req, res) => {
        if (req.headers.authorization === expected) return false;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="tsc-test"' });
        res.end();
        return true;
      },
    });
    cleanups.push(basic.close);
    const store = await newStore();
    const r = await pullImage(store, `${basic.host}/fixture:v1`, { ...fast, credentials: { [basic.host]: { username: 'bob', password: 'pw' } } });
    expect(r.manifestDigest).toBe(image.manifest.digest);
    const denied = await caught(pullImage(await newStore(), `${basic.host}/fixture:v1`, fast));
    expect(isTscError(denied, 'ERR_IMAGE')).toBe(true);
    expect(denied.message).toContain(`pull access denied for ${basic.host}/fixture`);
  });

  it('falls back from a dead mirror to the registry, and uses a live mirror first', async () => {
    const seen: string[] = [];
    const mirror = await startProxy(registry.port, {
      handle: (req) => {
        seen.push(req.url ?? '');
        return false;
      },
    });
    cleanups.push(mirror.close);
    const store = await newStore();
    // The mirror serves the registry's repositories under the same names.
    await pullImage(store, `${registry.host}/fixture:v1`, { ...fast, mirrors: { [registry.host]: ['http://127.0.0.1:1', `http://${mirror.host}`] } });
    expect(seen.some((u) => u.includes('/blobs/'))).toBe(true);
    expect(await store.hasBlob(image.layers[0]?.digest ?? '')).toBe(true);
  });

  it('pushes an image from the store that skopeo and a pull then read', async () => {
    const store = await newStore();
    await importOciDir(store, image.dir, { repository: 'localhost/local' });
    const pushed: string[] = [];
    const r = await pushImage(store, 'localhost/local:v1', `${registry.host}/pushed:v2`, { ...fast, onProgress: (e) => pushed.push(e.status) });
    expect(r).toEqual({ name: `${registry.host}/pushed:v2`, digest: image.manifest.digest });
    const info = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/pushed:v2`], { encoding: 'utf8' })) as { Digest: string };
    expect(info.Digest).toBe(image.manifest.digest);
    const back = await newStore();
    expect((await pullImage(back, `${registry.host}/pushed:v2`, fast)).manifestDigest).toBe(image.manifest.digest);
    // The registry has every blob now: a second push sends none.
    pushed.length = 0;
    await pushImage(store, 'localhost/local:v1', `${registry.host}/pushed:v3`, { ...fast, onProgress: (e) => pushed.push(e.status) });
    expect(pushed).toEqual(['exists', 'exists', 'exists']);
  });

  it('downloads each blob once when two pulls of one image run at the same time', async () => {
    const gets = new Map<string, number>();
    const counting = await startProxy(registry.port, {
      handle: (req) => {
        const m = /\/blobs\/(sha256:[a-f0-9]+)/.exec(req.url ?? '');
        if (m !== null && req.method === 'GET') gets.set(m[1] as string, (gets.get(m[1] as string) ?? 0) + 1);
        return false;
      },
    });
    cleanups.push(counting.close);
    const store = await newStore();
    const [a, b] = await Promise.all([pullImage(store, `${counting.host}/fixture:v1`, fast), pullImage(store, `${counting.host}/fixture:v1`, fast)]);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    for (const l of image.layers) expect(gets.get(l.digest)).toBe(1);
    expect(gets.get(image.configDigest)).toBe(1);
  });

  it('retries 503 and 429 answers with backoff, then gives up with a clean error', async () => {
    let failures = 0;
    let budget = 3;
    const busy = await startProxy(registry.port, {
      handle: (req, res) => {
        if (!(req.url ?? '').includes('/blobs/') || budget <= 0) return false;
        budget--;
        failures++;
        res.writeHead(failures % 2 === 0 ? 429 : 503);
        res.end();
        return true;
      },
    });
    cleanups.push(busy.close);
    const store = await newStore();
    await pullImage(store, `${busy.host}/fixture:v1`, { ...fast, retries: 3 });
    expect(failures).toBe(3);
    budget = 100;
    const other = await newStore();
    const err = await caught(pullImage(other, `${busy.host}/fixture:v1`, { ...fast, retries: 2 }));
    expect(err.message).toMatch(new RegExp(`from ${busy.host} failed after 3 attempts: ${busy.host} answered (503|429)`));
    await expectNothingStored(other);
  });

  it('pulls compose services by pull_policy, each image once, ignoring failures when asked', async () => {
    const store = await newStore();
    const fixture = `${registry.host}/fixture:v1`;
    const services = [
      { service: 'web', image: fixture },
      { service: 'worker', image: fixture, pull_policy: 'missing' as const },
      { service: 'local', image: 'localhost/never-pulled:1', pull_policy: 'never' as const },
      { service: 'built', image: 'localhost/built:1', pull_policy: 'build' as const },
      { service: 'gone', image: `${registry.host}/does-not-exist:1` },
    ];
    const failed = await caught(pullServices(store, services, fast));
    expect(failed.message).toContain('service "gone" failed to pull image');
    const out = await pullServices(store, services, { ...fast, ignorePullFailures: true });
    expect(out.map((o) => [o.service, o.status, 'reason' in o ? o.reason : ''])).toEqual([
      ['web', 'skipped', 'present'], // pulled by the first, failed call already
      ['worker', 'skipped', 'present'],
      ['local', 'skipped', 'never'],
      ['built', 'skipped', 'build'],
      ['gone', 'failed', ''],
    ]);
    const again = await pullServices(store, [{ service: 'web', image: fixture, pull_policy: 'always' }, { service: 'api', image: fixture }], fast);
    expect(again.map((o) => o.status)).toEqual(['pulled', 'pulled']);
  });

  it('rejects a corrupted blob (digest mismatch) and stores nothing', async () => {
    const own = await startRegistry();
    cleanups.push(own.stop);
    await skopeoPush(image.dir, 'v1', `${own.host}/fixture:v1`);
    const layer = image.layers[1];
    const path = registryBlobPath(own.storage, layer?.digest ?? '');
    const data = await readFile(path);
    data[data.length >> 1] = (data[data.length >> 1] ?? 0) ^ 0xff; // same size, different content
    await writeFile(path, data);
    const store = await newStore();
    const err = await caught(pullImage(store, `${own.host}/fixture:v1`, { ...fast, unpack: true }));
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect(err.message).toContain(`layer ${layer?.digest}`);
    expect(await readdir(join(store.root, 'snapshots'))).not.toContain(layer?.diffId.slice(7));
    expect((await readdir(join(store.root, 'snapshots'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(err.message).toContain('digest mismatch');
    expect(await store.hasBlob(layer?.digest ?? '')).toBe(false);
    await expectNothingStored(store);
    await own.stop();
  });

  it('resumes a download cut in the middle', async () => {
    let cuts = 0;
    const ranges: string[] = [];
    const flaky = await startProxy(registry.port, {
      onResponse: (req, upstream, res) => {
        if (req.headers.range !== undefined) ranges.push(`${req.headers.range} -> ${upstream.statusCode}`);
        if (!(req.url ?? '').includes(`/blobs/${image.layers[0]?.digest}`) || req.headers.range !== undefined || cuts > 0) return false;
        cuts++;
        res.writeHead(upstream.statusCode ?? 200, upstream.headers);
        let sent = 0;
        upstream.on('data', (c: Buffer) => {
          if (sent > 100_000) return;
          sent += c.length;
          res.write(c);
          if (sent > 100_000) {
            upstream.destroy();
            res.socket?.destroy();
          }
        });
        return true;
      },
    });
    cleanups.push(flaky.close);
    const store = await newStore();
    const r = await pullImage(store, `${flaky.host}/fixture:v1`, { ...fast, unpack: true });
    expect(cuts).toBe(1);
    // The retry asked only for the rest, and the registry served it.
    expect(ranges).toHaveLength(1);
    expect(ranges[0]).toMatch(/^bytes=[1-9]\d*- -> 206$/);
    expect(r.manifestDigest).toBe(image.manifest.digest);
    expect(await store.hasBlob(image.layers[0]?.digest ?? '')).toBe(true);
    // Extracted while downloading, across the cut.
    expect((await stat(join(snapshotPath(store, image.layers[0]?.diffId ?? ''), 'bin/busybox'))).isFile()).toBe(true);
  });

  it('gives a clean error when the registry dies mid-download, after retrying', async () => {
    const own = await startRegistry();
    cleanups.push(own.stop);
    await skopeoPush(image.dir, 'v1', `${own.host}/fixture:v1`);
    let killed = false;
    const proxy: Proxy = await startProxy(own.port, {
      onResponse: (req, upstream, res) => {
        if (!(req.url ?? '').includes('/blobs/') || !(req.url ?? '').includes(image.layers[0]?.digest ?? '')) return false;
        res.writeHead(upstream.statusCode ?? 200, upstream.headers);
        upstream.once('data', (c: Buffer) => {
          res.write(c);
          // The registry dies with the download half done: nothing answers any more.
          killed = true;
          own.process.kill('SIGKILL');
          res.socket?.destroy();
          void proxy.close();
        });
        return true;
      },
    });
    cleanups.push(proxy.close);
    const store = await newStore();
    const err = await caught(pullImage(store, `${proxy.host}/fixture:v1`, fast));
    expect(killed).toBe(true);
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect(err.message).toMatch(/failed after \d+ attempts/);
    expect(err.message).toContain(proxy.host);
    expect(await store.hasBlob(image.layers[0]?.digest ?? '')).toBe(false);
    await expectNothingStored(store);
    await own.stop();
  });
});
