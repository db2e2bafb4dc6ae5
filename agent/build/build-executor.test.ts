/**
 * The builder against real parts: the offline busybox image in a real image store, RUN steps
 * in containers of the bundled runtime on overlay mounts, layers read back from the store.
 * What is checked is what a user would check: the files in the built image, the layer's
 * whiteouts, the cache saying CACHED on a rebuild with the same image ID, errors naming the
 * Dockerfile line, and nothing left mounted or on disk after a failure.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { buildOciImage } from '../../fixtures/oci-image.js';
import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { getImage, importOciDir, openImageStore, prepareRootfs, readTar, removeRootfs, type ImageStore } from '../images/index.js';
import { bundledRuntimePath } from '../runtime/bundled-runtime-path.js';
import { buildImage, type BuildEvent, type BuildRequest } from './build-executor.js';

describePrivileged('buildImage (bundled runtime, overlayfs, image store)', [root, command('busybox'), command('getfattr'), command('tar')], () => {
  let dir: string;
  let store: ImageStore;
  let ctx: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-build-exec-'));
    await buildOciImage(join(dir, 'layout'), { tag: 'latest', config: { Cmd: ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] } });
    store = await openImageStore(join(dir, 'store'));
    await importOciDir(store, join(dir, 'layout'), { repository: 'busybox' });
    ctx = join(dir, 'ctx');
    await mkdir(join(ctx, 'src/sub'), { recursive: true });
    await writeFile(join(ctx, 'src/a.txt'), 'A\n');
    await writeFile(join(ctx, 'src/sub/b.txt'), 'B\n');
    await writeFile(join(ctx, 'src/secret.key'), 'S\n');
    await writeFile(join(ctx, 'src/keep.key'), 'K\n');
    await writeFile(join(ctx, '.dockerignore'), '# secrets stay home\nsrc/*.key\n!src/keep.key\n');
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function build(dockerfile: string, extra: Partial<BuildRequest> = {}): Promise<{ events: BuildEvent[]; result: Awaited<ReturnType<typeof buildImage>> }> {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const events: BuildEvent[] = [];
    const result = await buildImage(
      {
        store,
        runtime: bundledRuntimePath(),
        runtimeRoot: join(dir, 'runtime'),
        pull: (ref) => Promise.reject(new Error(`no registry in this test (pull ${ref})`)),
        onEvent: (e) => events.push(e),
      },
      { context: ctx, tags: ['app:test'], ...extra },
    );
    return { events, result };
  }

  /** Read files of an image through an overlay mount, as a container would see them. */
  async function inImage<T>(tag: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
    const img = await getImage(store, tag);
    const id = `check-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const r = await prepareRootfs(store, { id, layers: img.layers });
    try {
      return await fn(r.path);
    } finally {
      await removeRootfs(store, id);
    }
  }

  async function layerNames(tag: string, index: number): Promise<string[]> {
    const img = await getImage(store, tag);
    const layer = img.layers.at(index);
    if (layer === undefined) throw new Error(`no layer ${index}`);
    const names: string[] = [];
    for await (const { entry, body } of readTar(store.openBlob(layer.blob.digest))) {
      names.push(entry.name);
      for await (const chunk of body) void chunk;
    }
    return names;
  }

  function leftovers(): { mounts: number; rootfs: string[]; ingest: string[] } {
    const mounts = readFileSyncLines('/proc/self/mountinfo').filter((l) => l.includes(dir)).length;
    return { mounts, rootfs: ls(join(dir, 'store/rootfs')), ingest: ls(join(dir, 'store/ingest')) };
  }

  const multiStage = [
    'FROM busybox AS build',
    'WORKDIR /out',
    'RUN echo built > artifact && mkdir tmpdir && touch tmpdir/x && rm -rf tmpdir',
    'COPY src/ /src/',
    '',
    'FROM busybox AS unused',
    'RUN exit 3',
    '',
    'FROM busybox',
    'ARG GREETING=hello',
    'ENV APP=/app',
    'COPY --from=build /out/artifact $APP/artifact',
    'COPY --from=build /src /app/src',
    'RUN rm /bin/yes && echo "$GREETING from RUN" && echo "$GREETING" > /app/greeting',
    'WORKDIR /app',
    'CMD ["cat", "artifact"]',
    '',
  ].join('\n');

  it('builds only the stages the target needs, with COPY --from, whiteouts and .dockerignore', async () => {
    const { events, result } = await build(multiStage, { buildArgs: { GREETING: 'hi' } });
    expect(result.tags).toEqual(['docker.io/library/app:test']);
    expect(events.some((e) => e.step.includes('RUN exit 3'))).toBe(false);
    expect(events.filter((e) => e.status === 'output').map((e) => e.text).join('')).toContain('hi from RUN');

    await inImage('app:test', async (rootfs) => {
      expect(await readFile(join(rootfs, 'app/artifact'), 'utf8')).toBe('built\n');
      expect(await readFile(join(rootfs, 'app/greeting'), 'utf8')).toBe('hi\n');
      expect((await readdir(join(rootfs, 'app/src'))).sort()).toEqual(['a.txt', 'keep.key', 'sub']);
      expect(await readFile(join(rootfs, 'app/src/sub/b.txt'), 'utf8')).toBe('B\n');
      expect(ls(join(rootfs, 'bin'))).not.toContain('yes');
      expect(ls(join(rootfs, 'bin'))).toContain('sh');
    });
    // The RUN that deleted /bin/yes carries its whiteout; mount points made for it do not show.
    const runLayer = await layerNames('app:test', -1);
    expect(runLayer).toContain('bin/.wh.yes');
    expect(runLayer).toContain('app/greeting');
    expect(runLayer.filter((n) => /^(proc|sys|dev|etc)\b/.test(n))).toEqual([]);

    const img = await getImage(store, 'app:test');
    expect(img.config.config?.Cmd).toEqual(['cat', 'artifact']);
    expect(img.config.config?.WorkingDir).toBe('/app');
    expect(img.config.config?.Env).toContain('APP=/app');
    expect(img.config.config?.Env?.some((e) => e.startsWith('GREETING'))).toBe(false);
    const history = img.config.history?.map((h) => String(h['created_by']).split(' ')[0]) ?? [];
    expect(history.slice(-7)).toEqual(['ARG', 'ENV', 'COPY', 'COPY', 'RUN', 'WORKDIR', 'CMD']);
    expect(img.config.rootfs.diff_ids.length).toBe(img.layers.length);
  }, 60_000);

  it('rebuilds from the cache without running a step, to the same image ID', async () => {
    const first = await build(multiStage, { buildArgs: { GREETING: 'hi' } });
    const again = await build(multiStage, { buildArgs: { GREETING: 'hi' } });
    expect(again.result.id).toBe(first.result.id);
    const layered = again.events.filter((e) => / (RUN|COPY) /.test(e.step));
    expect(layered.filter((e) => e.status === 'cached').length).toBe(5);
    expect(layered.some((e) => e.status === 'output' || e.status === 'done')).toBe(false);

    // A changed build arg re-runs only the RUN that uses it.
    const other = await build(multiStage, { buildArgs: { GREETING: 'bye' } });
    expect(other.result.id).not.toBe(first.result.id);
    const ran = other.events.filter((e) => e.status === 'done' && / (RUN|COPY) /.test(e.step)).map((e) => e.step.replace(/^\[[^\]]+\] /, ''));
    expect(ran).toEqual(['RUN rm /bin/yes && echo "$GREETING from RUN" && echo "$GREETING" > /app/greeting']);

    // A changed context file re-runs the COPY that reads it and what follows; --no-cache runs all.
    await writeFile(join(ctx, 'src/a.txt'), 'A2\n');
    const changed = await build(multiStage, { buildArgs: { GREETING: 'hi' } });
    expect(changed.events.find((e) => e.step.includes('COPY src/'))?.status).not.toBe('cached');
    expect(changed.events.find((e) => e.step.includes('RUN echo built'))?.status).toBe('cached');
    // An ignored file changing changes nothing.
    await writeFile(join(ctx, 'src/secret.key'), 'S2\n');
    const ignored = await build(multiStage, { buildArgs: { GREETING: 'hi' } });
    expect(ignored.result.id).toBe(changed.result.id);
    const nocache = await build(multiStage, { buildArgs: { GREETING: 'hi' }, noCache: true });
    expect(nocache.events.some((e) => e.status === 'cached')).toBe(false);
  }, 90_000);

  it('fails a RUN with its step, line and exit code, leaving nothing behind', async () => {
    const err = await build('FROM busybox\nRUN echo about to fail\nRUN echo out; exit 7\n').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DOCKERFILE', file: 'Dockerfile', line: 3 });
    expect((err as Error).message).toMatch(/RUN echo out; exit 7.*exit code: 7/);
    expect(leftovers()).toEqual({ mounts: 0, rootfs: [], ingest: [] });
    expect(ls(join(dir, 'runtime'))).toEqual([]);
  }, 60_000);

  it('builds independent stages side by side, and a failing one leaves nothing running or mounted', async () => {
    const df = (failB: boolean) =>
      [
        'FROM busybox AS a',
        'RUN sleep 1 && echo A > /a',
        'FROM busybox AS b',
        `RUN ${failB ? 'exit 5' : 'echo B > /b'}`,
        'FROM busybox',
        'COPY --from=a /a /a',
        'COPY --from=b /b /b',
        '',
      ].join('\n');
    const { events } = await build(df(false), { noCache: true });
    // b's RUN started before a's finished: they overlapped.
    const at = (pred: (e: BuildEvent) => boolean) => events.findIndex(pred);
    expect(at((e) => e.step.startsWith('[b 2/2]') && e.status === 'started')).toBeLessThan(at((e) => e.step.startsWith('[a 2/2]') && e.status === 'done'));
    await inImage('app:test', async (rootfs) => {
      expect(await readFile(join(rootfs, 'a'), 'utf8')).toBe('A\n');
      expect(await readFile(join(rootfs, 'b'), 'utf8')).toBe('B\n');
    });
    const err = await build(df(true), { noCache: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DOCKERFILE', line: 4 });
    expect(leftovers()).toEqual({ mounts: 0, rootfs: [], ingest: [] });
  }, 60_000);

  it('stops when its signal aborts: the running step\'s container is killed, nothing is left behind', async () => {
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo going && sleep 600\nRUN echo never\n');
    const ac = new AbortController();
    const seen: BuildEvent[] = [];
    const err = await buildImage(
      {
        store,
        runtime: bundledRuntimePath(),
        runtimeRoot: join(dir, 'runtime'),
        pull: (ref) => Promise.reject(new Error(`no registry (pull ${ref})`)),
        onEvent: (e) => {
          seen.push(e);
          if (e.status === 'output' && e.text?.includes('going') === true) ac.abort();
        },
        signal: ac.signal,
      },
      { context: ctx, tags: ['cancelled:1'], noCache: true },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CANCELLED', line: 2 });
    expect(seen.some((e) => e.step.includes('RUN echo never'))).toBe(false);
    expect(leftovers()).toEqual({ mounts: 0, rootfs: [], ingest: [] });
    expect(ls(join(dir, 'runtime'))).toEqual([]);
  }, 60_000);

  it('ADD extracts a local tar archive, refuses a URL, and COPY applies --chown, --chmod and --link', async () => {
    const payload = join(dir, 'payload');
    await mkdir(join(payload, 'pkg'), { recursive: true });
    await writeFile(join(payload, 'pkg/readme'), 'from the archive\n');
    execFileSync('tar', ['-C', payload, '-czf', join(ctx, 'pkg.tar.gz'), 'pkg']);
    const { result } = await build(
      [
        'FROM busybox',
        'ADD pkg.tar.gz /opt/',
        'COPY --chown=app:app --chmod=600 src/a.txt /home/app/a.txt',
        'COPY --link src/sub/b.txt /linked/',
        'COPY <<EOF /etc/inline.conf',
        'key=value',
        'EOF',
        'RUN <<EOF',
        'echo one > /h1',
        'echo two >> /h1',
        'EOF',
        'RUN cat <<EOT > /h2',
        'hello $HOME',
        'EOT',
        'RUN stat -c "%U %a" /home/app/a.txt > /owner',
      ].join('\n'),
    );
    expect(result.id).toMatch(/^sha256:/);
    await inImage('app:test', async (rootfs) => {
      expect(await readFile(join(rootfs, 'opt/pkg/readme'), 'utf8')).toBe('from the archive\n');
      expect(await readFile(join(rootfs, 'owner'), 'utf8')).toBe('app 600\n');
      expect(await readFile(join(rootfs, 'linked/b.txt'), 'utf8')).toBe('B\n');
      expect(await readFile(join(rootfs, 'etc/inline.conf'), 'utf8')).toBe('key=value\n');
      expect(await readFile(join(rootfs, 'h1'), 'utf8')).toBe('one\ntwo\n');
      expect(await readFile(join(rootfs, 'h2'), 'utf8')).toBe('hello /root\n');
    });
    const user = await build('FROM busybox\nUSER nobody-here\nRUN true\n').catch((e: unknown) => e);
    expect(user).toMatchObject({ file: 'Dockerfile', line: 3 });
    expect((user as Error).message).toContain('RUN true');
    const mount = await build('FROM busybox\nRUN --mount=type=cache,target=/root/.cache true\n').catch((e: unknown) => e);
    expect(mount).toMatchObject({ code: 'ERR_UNSUPPORTED', line: 2 });
    const plat = await build('FROM --platform=linux/s390x busybox\n').catch((e: unknown) => e);
    expect(plat).toMatchObject({ code: 'ERR_UNSUPPORTED', line: 1 });
    await build('FROM --platform=$BUILDPLATFORM busybox\nRUN true\n');
    const err = await build('FROM busybox\nADD https://example.invalid/x.tgz /x\n').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED', line: 2 });
    expect((err as Error).message).toContain('not supported offline');
  }, 60_000);

  it('writes the image config: USER, ENTRYPOINT/CMD, HEALTHCHECK, STOPSIGNAL, EXPOSE, VOLUME, labels; ONBUILD triggers run in the child', async () => {
    await build(
      [
        'FROM busybox',
        'ONBUILD RUN echo triggered by $(id -u) > /tmp/onbuild',
        'USER app',
        'RUN id -u > /tmp/uid',
        'EXPOSE 8080 53/udp',
        'VOLUME /data',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/ || exit 1',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD echo hi',
        '',
      ].join('\n'),
      { tags: ['parent:1'], labels: { 'com.example.team': 'build' } },
    );
    const parent = await getImage(store, 'parent:1');
    expect(parent.config.config).toMatchObject({
      User: 'app',
      ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
      Volumes: { '/data': {} },
      StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'], Interval: 5e9, Retries: 2 },
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['/bin/sh', '-c', 'echo hi'],
      Labels: { 'com.example.team': 'build' },
      OnBuild: ['RUN echo triggered by $(id -u) > /tmp/onbuild'],
    });
    await inImage('parent:1', async (rootfs) => {
      expect(await readFile(join(rootfs, 'tmp/uid'), 'utf8')).toBe('1000\n');
    });
    await build('FROM parent:1\nUSER root\n', { tags: ['child:1'] });
    const child = await getImage(store, 'child:1');
    expect((child.config.config as Record<string, unknown> | undefined)?.['OnBuild']).toBeUndefined();
    await inImage('child:1', async (rootfs) => {
      expect(await readFile(join(rootfs, 'tmp/onbuild'), 'utf8')).toBe('triggered by 1000\n');
    });
  }, 60_000);

  it('adds no layer for a step that changes nothing, and leaves no overlay bookkeeping in layer snapshots', async () => {
    await build('FROM busybox\nRUN true\nRUN echo changed > /etc/motd\nRUN true\n', { tags: ['noop:1'] });
    const img = await getImage(store, 'noop:1');
    const base = await getImage(store, 'busybox');
    expect(img.layers.length).toBe(base.layers.length + 1);
    expect(img.config.history?.slice(-3).map((h) => [h['created_by'], h['empty_layer'] ?? false])).toEqual([
      ['RUN /bin/sh -c true # buildkit', true],
      ['RUN /bin/sh -c echo changed > /etc/motd # buildkit', false],
      ['RUN /bin/sh -c true # buildkit', true],
    ]);
    // The image mounts (a layer listed twice would not) and its snapshot is plain.
    await inImage('noop:1', async (rootfs) => {
      expect(await readFile(join(rootfs, 'etc/motd'), 'utf8')).toBe('changed\n');
    });
    // A directory removed and made again hides what the layers below had: an opaque marker.
    await build('FROM busybox\nRUN mkdir -p /srv/keep && echo a > /srv/keep/a && echo b > /srv/keep/b\nRUN rm -rf /srv/keep && mkdir /srv/keep && echo c > /srv/keep/c\n', { tags: ['opaque:1'] });
    expect(await layerNames('opaque:1', -1)).toEqual(expect.arrayContaining(['srv/keep/', 'srv/keep/.wh..wh..opq', 'srv/keep/c']));
    await inImage('opaque:1', async (rootfs) => {
      expect(ls(join(rootfs, 'srv/keep'))).toEqual(['c']);
    });
    const top = img.layers.at(-1)?.diffId.slice(7) ?? '';
    const attrs = execFileSync('getfattr', ['-R', '-h', '-m', '^trusted\\.overlay\\.', '--absolute-names', join(dir, 'store/snapshots', top)], { encoding: 'utf8' });
    expect(attrs.split('\n').filter((l) => l.startsWith('trusted.overlay.') && l !== 'trusted.overlay.opaque')).toEqual([]);
  }, 60_000);

  it('runs RUN with network none in a namespace of its own, and builds FROM scratch (dockerfile_inline)', async () => {
    const { events } = await build('FROM busybox\nRUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "\n', { noCache: true });
    expect(events.filter((e) => e.status === 'output').map((e) => e.text).join('').trim()).toBe('lo');

    await build('FROM busybox\nRUN exit 1\n', { dockerfileInline: 'FROM scratch\nCOPY src/sub/ /\nCMD ["/b.txt"]\n' });
    const img = await getImage(store, 'app:test');
    expect(img.layers.length).toBe(1);
    expect(await layerNames('app:test', 0)).toEqual(['b.txt']);
  }, 60_000);
});

function ls(p: string): string[] {
  try {
    return execFileSync('ls', ['-A', p], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function readFileSyncLines(p: string): string[] {
  return execFileSync('cat', [p], { encoding: 'utf8' }).split('\n');
}
