import { mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { isTscError } from '../../../lib/errors.js';
import { caught } from '../../../test/support/caught.js';
import { eraseCredentials, getCredentials, listCredentials, loadCredentials, serverKey, storeCredentials } from './credentials.js';
import { writeTestCredentialHelper } from './test-credential-helper.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('serverKey (Docker Hub naming)', () => {
  it.each([
    [undefined, 'https://index.docker.io/v1/'],
    ['docker.io', 'https://index.docker.io/v1/'],
    ['index.docker.io', 'https://index.docker.io/v1/'],
    ['https://index.docker.io/v1/', 'https://index.docker.io/v1/'],
    ['registry-1.docker.io', 'https://index.docker.io/v1/'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['https://Registry.Example.com:5000/v2/', 'registry.example.com:5000'],
  ])('%s -> %s', (server, key) => {
    expect(serverKey(server)).toBe(key);
  });
});

describe('credentials in config.json auths', () => {
  it('reads auths by host or URL key, and names the file when it is broken', async () => {
    const d = await tmp('tsc-auth-');
    const file = join(d, 'config.json');
    await writeFile(file, JSON.stringify({
      auths: {
        '127.0.0.1:5000': { auth: b64('alice:s3cr:et') },
        'https://index.docker.io/v1/': { auth: b64('hub:pw') },
        'http://mirror.local:8080/v2/': { username: 'bob', password: 'pw2' },
      },
    }));
    expect(await getCredentials('127.0.0.1:5000', { configFile: file })).toEqual({ username: 'alice', password: 's3cr:et' });
    expect(await getCredentials('docker.io', { configFile: file })).toEqual({ username: 'hub', password: 'pw' });
    expect(loadCredentials('mirror.local:8080', file)).toEqual({ username: 'bob', password: 'pw2' });
    expect(await getCredentials('other:1', { configFile: file })).toBeUndefined();
    expect(await getCredentials('x', { configFile: join(d, 'missing.json') })).toBeUndefined();
    await writeFile(file, '{not json');
    const err = await caught(getCredentials('x', { configFile: file }));
    expect(isTscError(err, 'ERR_AUTH')).toBe(true);
    expect(err.message).toContain(file);
  });

  it('login writes auths as Docker does (0600, atomic, other keys kept), logout forgets them', async () => {
    const d = await tmp('tsc-login-');
    const file = join(d, 'sub', 'config.json');
    await storeCredentials('127.0.0.1:5000', { username: 'alice', password: 'pw' }, { configFile: file });
    await storeCredentials('docker.io', { username: 'hub', password: 'x' }, { configFile: file });
    const cfg = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(cfg.auths).toEqual({ '127.0.0.1:5000': { auth: b64('alice:pw') }, 'https://index.docker.io/v1/': { auth: b64('hub:x') } });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(d, 'sub'))).toEqual(['config.json']);
    await writeFile(file, JSON.stringify({ ...cfg, proxies: { default: { httpProxy: 'http://p' } }, detachKeys: 'ctrl-x' }));
    // A new login replaces the old entry, also one kept under a URL form of the key.
    await storeCredentials('https://127.0.0.1:5000', { username: 'carol', password: 'pw3' }, { configFile: file });
    expect(await getCredentials('127.0.0.1:5000', { configFile: file })).toEqual({ username: 'carol', password: 'pw3' });
    expect(await eraseCredentials('index.docker.io', { configFile: file })).toBe(true);
    expect(await eraseCredentials('docker.io', { configFile: file })).toBe(false);
    const after = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(after).toEqual({ auths: { '127.0.0.1:5000': { auth: b64('carol:pw3') } }, proxies: { default: { httpProxy: 'http://p' } }, detachKeys: 'ctrl-x' });
  });

  it('writes through a symlinked config.json to its target', async () => {
    const d = await tmp('tsc-login-link-');
    const real = join(d, 'real.json');
    await writeFile(real, JSON.stringify({ psFormat: 'table' }));
    await symlink(real, join(d, 'config.json'));
    await storeCredentials('h:1', { username: 'u', password: 'p' }, { configFile: join(d, 'config.json') });
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({ psFormat: 'table', auths: { 'h:1': { auth: b64('u:p') } } });
  });
});

describe('credentials through a credential helper', () => {
  it('credsStore: the secret goes to the helper, auths keeps an empty entry, get/erase/list go through it', async () => {
    const d = await tmp('tsc-helper-');
    const helper = await writeTestCredentialHelper(d, 'tsctest');
    const file = join(d, 'config.json');
    await writeFile(file, JSON.stringify({ credsStore: 'tsctest', currentContext: 'x' }));
    const opts = { configFile: file, env: helper.env };
    const where = await storeCredentials('docker.io', { username: 'hub', password: 'hub-secret' }, opts);
    expect(where).toEqual({ key: 'https://index.docker.io/v1/', file, helper: 'tsctest' });
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(b64('hub:hub-secret'));
    expect(JSON.parse(text)).toEqual({ credsStore: 'tsctest', currentContext: 'x', auths: { 'https://index.docker.io/v1/': {} } });
    expect(await helper.stored()).toEqual({ 'https://index.docker.io/v1/': { Username: 'hub', Secret: 'hub-secret' } });
    expect(await getCredentials('docker.io', opts)).toEqual({ username: 'hub', password: 'hub-secret' });
    expect(await getCredentials('other:5000', opts)).toBeUndefined();
    expect(await listCredentials(opts)).toEqual({ 'https://index.docker.io/v1/': 'hub' });
    expect(await eraseCredentials('docker.io', opts)).toBe(true);
    expect(await helper.stored()).toEqual({});
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ credsStore: 'tsctest', currentContext: 'x', auths: {} });
    expect(await helper.calls()).toEqual(['store https://index.docker.io/v1/', 'get https://index.docker.io/v1/', 'get other:5000', 'list', 'erase https://index.docker.io/v1/']);
  });

  it('credHelpers names a helper per registry, over credsStore and auths', async () => {
    const d = await tmp('tsc-helper2-');
    const helper = await writeTestCredentialHelper(d, 'perhost');
    const file = join(d, 'config.json');
    await writeFile(file, JSON.stringify({ credHelpers: { 'reg.local:5000': 'perhost' }, auths: { 'other:1': { auth: b64('o:p') } } }));
    const opts = { configFile: file, env: helper.env };
    await storeCredentials('reg.local:5000', { username: 'u', password: 'p' }, opts);
    await storeCredentials('other:1', { username: 'o', password: 'q' }, opts);
    expect(await helper.stored()).toEqual({ 'reg.local:5000': { Username: 'u', Secret: 'p' } });
    expect(await getCredentials('reg.local:5000', opts)).toEqual({ username: 'u', password: 'p' });
    expect(await getCredentials('other:1', opts)).toEqual({ username: 'o', password: 'q' });
  });

  it('a helper that is missing or fails is an error naming it', async () => {
    const d = await tmp('tsc-helper3-');
    const file = join(d, 'config.json');
    await writeFile(file, JSON.stringify({ credsStore: 'nosuch-tsc' }));
    const missing = await caught(getCredentials('h:1', { configFile: file, env: { PATH: d } }));
    expect(isTscError(missing, 'ERR_AUTH')).toBe(true);
    expect(missing.message).toContain('docker-credential-nosuch-tsc is not on PATH');
    await writeFile(join(d, 'docker-credential-broken'), '#!/bin/sh\necho "keychain locked" >&2\nexit 3\n', { mode: 0o755 });
    await writeFile(file, JSON.stringify({ credsStore: 'broken' }));
    const failed = await caught(storeCredentials('h:1', { username: 'u', password: 'p' }, { configFile: file, env: { PATH: d } }));
    expect(failed.message).toBe('credential helper docker-credential-broken store failed: keychain locked');
    // nothing was written when the helper refused
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ credsStore: 'broken' });
  });
});
