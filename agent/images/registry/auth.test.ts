import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { isTscError } from '../../../lib/errors.js';
import { loadCredentials, parseChallenges, removeCredentials, saveCredentials } from './auth.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['Bearer realm=http://127.0.0.1:1/t, service=reg', [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:1/t', service: 'reg' } }]],
    ['Bearer realm="a\\"b",error="insufficient_scope"', [{ scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } }]],
    ['Basic realm="x", Bearer realm="y"', [{ scheme: 'basic', params: { realm: 'x' } }, { scheme: 'bearer', params: { realm: 'y' } }]],
  ])('%s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});

describe('loadCredentials', () => {
  it('reads auths from a Docker config.json, by host or URL key', async () => {
    const d = await mkdtemp(join(tmpdir(), 'tsc-auth-'));
    dirs.push(d);
    const file = join(d, 'config.json');
    await writeFile(file, JSON.stringify({
      auths: {
        '127.0.0.1:5000': { auth: Buffer.from('alice:s3cr:et').toString('base64') },
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
        'http://mirror.local:8080/v2/': { username: 'bob', password: 'pw2' },
      },
    }));
    expect(loadCredentials('127.0.0.1:5000', file)).toEqual({ username: 'alice', password: 's3cr:et' });
    expect(loadCredentials('docker.io', file)).toEqual({ username: 'hub', password: 'pw' });
    expect(loadCredentials('mirror.local:8080', file)).toEqual({ username: 'bob', password: 'pw2' });
    expect(loadCredentials('other:1', file)).toBeUndefined();
    expect(loadCredentials('x', join(d, 'missing.json'))).toBeUndefined();
    await writeFile(file, '{not json');
    let err: unknown;
    try {
      loadCredentials('x', file);
    } catch (e) {
      err = e;
    }
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect((err as Error).message).toContain(file);
  });
});

describe('saveCredentials / removeCredentials (login, logout)', () => {
  it('writes auths as Docker does, keeping the rest of the file, and forgets them', async () => {
    const d = await mkdtemp(join(tmpdir(), 'tsc-login-'));
    dirs.push(d);
    const file = join(d, 'sub', 'config.json');
    await saveCredentials('127.0.0.1:5000', { username: 'alice', password: 'pw' }, file);
    await saveCredentials('docker.io', { username: 'hub', password: 'x' }, file);
    const cfg = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Object.keys(cfg.auths).sort()).toEqual(['127.0.0.1:5000', 'https://index.docker.io/v1/']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(loadCredentials('127.0.0.1:5000', file)).toEqual({ username: 'alice', password: 'pw' });
    await writeFile(file, JSON.stringify({ ...cfg, credsStore: 'desktop', proxies: { default: {} } }));
    expect(await removeCredentials('docker.io', file)).toBe(true);
    expect(await removeCredentials('docker.io', file)).toBe(false);
    const after = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(after).toEqual({ auths: { '127.0.0.1:5000': { auth: cfg.auths['127.0.0.1:5000']?.auth } }, credsStore: 'desktop', proxies: { default: {} } });
  });
});
