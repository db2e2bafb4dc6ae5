/**
 * From a registry to a running container: an image pushed into Debian's docker-registry with
 * skopeo is pulled by `tsc-compose pull` and run by the bundled runtime with `up`.
 */
import { spawnSync } from 'node:child_process';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';
import { skopeoPush, startRegistry, type RunningRegistry } from '../support/registry-harness.js';

describePrivileged('pull from a registry and run', [root, command('nft'), command('ip'), command('busybox'), command('tar'), command('docker-registry'), command('skopeo')], () => {
  let host: E2eHost;
  let registry: RunningRegistry;
  let image: string;

  beforeAll(async () => {
    registry = await startRegistry();
    image = `${registry.host}/tsc/busybox:1.0`;
    host = await createE2eHost('pull', {
      'compose.yaml': ['services:', '  hello:', `    image: ${image}`, '    command: ["sh", "-c", "echo from the registry"]', ''].join('\n'),
    });
    await skopeoPush(`${host.dir}/layout`, 'latest', image);
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
    await registry.stop();
  }, 120_000);

  it('pulls the service image and runs a container from it', async () => {
    const pull = host.cli(['--progress', 'plain', 'pull']);
    expect(pull.status, pull.stderr).toBe(0);
    expect(pull.stderr).toContain(` Image ${image}  Pulled`);
    const up = host.cli(['--progress', 'quiet', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    for (let i = 0; i < 100 && host.cli(['logs', '--no-log-prefix', 'hello']).stdout === ''; i++) await new Promise((r) => setTimeout(r, 100));
    expect(host.cli(['logs', '--no-log-prefix', 'hello']).stdout).toBe('from the registry\n');
    const images = host.cli(['images', '--format', 'json']);
    expect(images.stdout, images.stderr).toContain(`${registry.host}/tsc/busybox`);
  }, 180_000);

  it('inspects the image and saves it to an archive skopeo can read', () => {
    const inspect = host.cli(['image', 'inspect', image]);
    expect(inspect.status, inspect.stderr).toBe(0);
    expect((JSON.parse(inspect.stdout) as Array<{ RepoTags: string[] }>)[0]?.RepoTags).toContain(image);
    const archive = `${host.dir}/saved.tar`;
    const save = host.cli(['image', 'save', '-o', archive, image]);
    expect(save.status, save.stderr).toBe(0);
    const seen = spawnSync('skopeo', ['inspect', `docker-archive:${archive}`], { encoding: 'utf8' });
    expect(seen.status, seen.stderr).toBe(0);
    expect((JSON.parse(seen.stdout) as { Layers: string[] }).Layers.length).toBeGreaterThan(0);
  }, 120_000);
});
