/**
 * From a registry to a running container: an image pushed into Debian's docker-registry with
 * skopeo is pulled by `tsc-compose pull` and run by the bundled runtime with `up`; images go
 * back with `image tag`, `image push` and compose `push`, and skopeo reads them there.
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
      'compose.yaml': ['services:', '  hello:', `    image: ${image}`, '    command: ["sh", "-c", "echo from the registry"]', '  built:', '    build: ./app', `    image: ${registry.host}/tsc/built:2`, ''].join('\n'),
      'app/Dockerfile': 'FROM busybox\n',
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
    // `built` is in no registry yet: it can be built, so that is a warning, not a failure
    expect(pull.stderr).toContain('WARNING: Some service image(s) must be built from source by running:\n    tsc-compose build built\n');
    const up = host.cli(['--progress', 'quiet', 'up', '-d', 'hello']);
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

  /** What the registry holds under `ref`, read by skopeo (the peer), or its error. */
  function registryManifest(ref: string): { status: number | null; layers: string[]; stderr: string } {
    const r = spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' });
    return { status: r.status, layers: r.status === 0 ? (JSON.parse(r.stdout) as { Layers: string[] }).Layers : [], stderr: r.stderr };
  }

  it('tags an image and pushes it under the new name', () => {
    const target = `${registry.host}/tsc/retagged:7`;
    expect(registryManifest(target).status).not.toBe(0);
    const tag = host.cli(['image', 'tag', image, target]);
    expect(tag.status, tag.stderr).toBe(0);
    const push = host.cli(['image', 'push', target]);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^7: digest: sha256:[a-f0-9]{64}$/m);
    expect(push.stdout).toContain(': Pushed');
    // a second push finds every blob in the repository and uploads nothing
    const again = host.cli(['image', 'push', target]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).not.toContain(': Pushed');
    expect(again.stdout).toContain('Layer already exists');
    const seen = registryManifest(target);
    expect(seen.status, seen.stderr).toBe(0);
    expect(seen.layers).toEqual(registryManifest(image).layers);
  }, 120_000);

  it('compose push sends only services that are built and name their image', () => {
    const built = `${registry.host}/tsc/built:2`;
    // what a build would have made; the builder itself is tested elsewhere
    expect(host.cli(['image', 'tag', image, built]).status).toBe(0);
    const push = host.cli(['--progress', 'plain', 'push']);
    expect(push.status, push.stderr).toBe(0);
    expect(push.stderr).toContain(` Image ${built}  Pushed`);
    expect(push.stderr).not.toContain(` Image ${image}  Pushing`);
    expect(registryManifest(built).status).toBe(0);
  }, 120_000);

  it('push of an image that is not here fails and names it', () => {
    const push = host.cli(['image', 'push', `${registry.host}/tsc/never-made:1`]);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toContain(`An image does not exist locally with the tag: ${registry.host}/tsc/never-made:1`);
  }, 60_000);
});
