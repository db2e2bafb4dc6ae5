import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../../fixtures/oci-image.js';
import { isTscError } from '../../../lib/errors.js';
import { caught } from '../../../test/support/caught.js';
import { command, describePrivileged, root } from '../../../test/support/privileged.js';
import { TEST_REGISTRY_USER, skopeoPush, startProxy, startRegistry } from '../../../test/support/registry-harness.js';
import type { RunningRegistry } from '../../../test/support/registry-harness.js';
import { parseReference } from '../reference.js';
import { storeCredentials } from './credentials.js';
import { verifyLogin } from './login.js';
import { createRegistryClient } from './registry-client.js';
import { writeTestCredentialHelper } from './test-credential-helper.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
let basic: RunningRegistry;
let open: RunningRegistry;

async function tmp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

describePrivileged('login against a real registry', [root, command('docker-registry'), command('skopeo'), command('busybox'), command('tar')], () => {
  beforeAll(async () => {
    basic = await startRegistry({ htpasswd: [TEST_REGISTRY_USER.htpasswd] });
    cleanups.push(basic.stop);
    open = await startRegistry();
    cleanups.push(open.stop);
    const layout = await tmp('tsc-login-layout-');
    await buildOciImage(layout, { tag: 'v1' });
    await skopeoPush(layout, 'v1', `${basic.host}/fixture:v1`, false, 'alice:s3cret');
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('checks credentials with the basic challenge of the htpasswd registry', async () => {
    expect(await verifyLogin(basic.host, { username: 'alice', password: 's3cret' })).toEqual({ key: basic.host, endpoint: `http://${basic.host}`, scheme: 'basic' });
    const bad = await caught(verifyLogin(`http://${basic.host}/`, { username: 'alice', password: 'wrong' }));
    expect(isTscError(bad, 'ERR_AUTH')).toBe(true);
    expect(bad.message).toBe(`login to ${basic.host} failed: unauthorized: incorrect username or password (${basic.host} answered 401)`);
  });

  it('checks credentials at the token realm of a bearer challenge', async () => {
    const seen: string[] = [];
    const tokens = await startProxy(open.port, {
      handle: (req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname !== '/token') return false;
        seen.push(`${u.searchParams.get('service') ?? ''} ${u.searchParams.get('account') ?? ''}`);
        const ok = req.headers.authorization === `Basic ${Buffer.from('bob:pw').toString('base64')}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(ok ? JSON.stringify({ token: 't', expires_in: 300 }) : '{"errors":[{"code":"UNAUTHORIZED"}]}');
        return true;
      },
    });
    cleanups.push(tokens.close);
    const guarded = await startProxy(open.port, {
      handle: (req, res) => {
        if (req.headers.authorization === 'Bearer t') return false;
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${tokens.host}/token",service="tsc-test"`, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return true;
      },
    });
    cleanups.push(guarded.close);
    expect((await verifyLogin(guarded.host, { username: 'bob', password: 'pw' })).scheme).toBe('bearer');
    const bad = await caught(verifyLogin(guarded.host, { username: 'bob', password: 'nope' }));
    expect(bad.message).toContain('incorrect username or password');
    expect(seen).toEqual(['tsc-test bob', 'tsc-test bob']);
  });

  it('a registry that asks for nothing accepts any login; an unreachable one is a clear error', async () => {
    expect((await verifyLogin(open.host, { username: 'x', password: 'y' })).scheme).toBe('none');
    const dead = await caught(verifyLogin('127.0.0.1:1', { username: 'x', password: 'y' }));
    expect(dead.message).toContain('login to 127.0.0.1:1 failed: cannot reach https://127.0.0.1:1 or http://127.0.0.1:1/v2/');
  });

  it('pulls read credentials through the credsStore helper config.json names', async () => {
    const d = await tmp('tsc-login-helper-');
    const helper = await writeTestCredentialHelper(d, 'tscpull');
    const configFile = join(d, 'config.json');
    await writeFile(configFile, JSON.stringify({ credsStore: 'tscpull' }));
    const ref = parseReference(`${basic.host}/fixture:v1`);
    const savedPath = process.env['PATH'];
    process.env['PATH'] = helper.env['PATH'];
    try {
      const anonymous = await caught(createRegistryClient({ authFile: configFile, retries: 0 }).repository(ref).getManifest('v1'));
      expect(anonymous.message).toContain(`pull access denied for ${basic.host}/fixture`);
      await storeCredentials(basic.host, { username: 'alice', password: 's3cret' }, { configFile, env: helper.env });
      const m = await createRegistryClient({ authFile: configFile, retries: 0 }).repository(ref).getManifest('v1');
      expect(m.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    } finally {
      process.env['PATH'] = savedPath;
    }
    // One helper run for the whole session, however many requests basic auth needed.
    expect((await helper.calls()).filter((c) => c.startsWith('get'))).toEqual([`get ${basic.host}`, `get ${basic.host}`]);
  });
});
