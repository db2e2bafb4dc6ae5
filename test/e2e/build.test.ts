/**
 * `build:` end to end, as a user runs it: `tsc-compose build` of a multi-stage Dockerfile FROM
 * the offline busybox image (COPY --from, a RUN that writes and deletes, .dockerignore), the
 * same build again all CACHED, `up` running the built image, `up --build` after an edit
 * recreating the container, `down` leaving no mount behind, and plain `up` building the
 * image when it is missing. Real parts only: the agent,
 * the bundled runtime, overlayfs, the image store.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createE2eHost, type E2eHost } from '../support/e2e-harness.js';
import { command, describePrivileged, root } from '../support/privileged.js';

describePrivileged('tsc-compose build and up of a built image', [root, command('nft'), command('ip'), command('busybox'), command('tar'), command('getfattr')], () => {
  let host: E2eHost;
  const cli = (args: string[]) => host.cli(args, 120_000);
  const mountsUnder = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(host.dir)).length;

  beforeAll(async () => {
    host = await createE2eHost('build', {
      'compose.yaml': ['services:', '  app:', '    build:', '      context: ./app', '      args: { GREETING: hello }', ''].join('\n'),
      'app/Dockerfile': [
        'FROM busybox AS build',
        'ARG GREETING',
        'WORKDIR /out',
        'RUN echo "$GREETING from the build stage" | tee index.html && mkdir junk && touch junk/x && rm -rf junk',
        '',
        'FROM busybox',
        'COPY --from=build /out/index.html /www/index.html',
        'COPY site/ /www/',
        'RUN rm /bin/yes',
        'CMD ["sh", "-c", "cat /www/index.html /www/page.txt; ls /www; sleep 600"]',
        '',
      ].join('\n'),
      'app/.dockerignore': 'site/*.secret\n',
      'app/site/page.txt': 'page one\n',
      'app/site/token.secret': 'do not ship\n',
    });
  }, 180_000);

  afterAll(async () => {
    await host.dispose();
  }, 120_000);

  it('builds the image, then rebuilds it all from the cache', () => {
    const first = cli(['--progress', 'plain', 'build']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`Image ${host.project}-app  Built`);
    expect(first.stderr).toMatch(/RUN echo "\$GREETING from the build stage".*DONE/);
    expect(first.stderr).toMatch(/RUN echo .*Building hello from the build stage\n/);

    const again = cli(['--progress', 'plain', 'build']);
    expect(again.status, again.stderr).toBe(0);
    const steps = again.stderr.split('\n').filter((l) => /\] (RUN|COPY) /.test(l));
    expect(steps.length).toBe(4);
    expect(steps.every((l) => l.endsWith('CACHED'))).toBe(true);

    const images = cli(['image', 'ls']);
    expect(images.stdout).toContain(`${host.project}-app`);
  }, 240_000);

  it('runs the built image with up, without the ignored file or the deleted one', () => {
    const up = cli(['--progress', 'plain', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    const logs = waitForLogs('page one');
    expect(logs).toContain('hello from the build stage\npage one\nindex.html\npage.txt\n');
    expect(cli(['exec', 'app', 'ls', '/bin/yes']).status).not.toBe(0);
  }, 240_000);

  it('rebuilds on up --build after an edit and recreates the container; down leaves no mount', async () => {
    await writeFile(join(host.dir, 'proj/app/site/page.txt'), 'page two\n');
    const up = cli(['--progress', 'plain', 'up', '-d', '--build']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/COPY --from=build .*CACHED/);
    expect(up.stderr).toContain(`Container ${host.project}-app-1  Recreated`);
    expect(waitForLogs('page two')).toContain('page two');
    expect(cli(['down']).status).toBe(0);
    expect(mountsUnder()).toBe(0);
  }, 240_000);

  it('builds on plain up when the image is missing', () => {
    expect(cli(['image', 'rm', `${host.project}-app`]).status).toBe(0);
    const up = cli(['--progress', 'plain', 'up', '-d']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toContain(`Image ${host.project}-app  Built`);
    expect(waitForLogs('page two')).toContain('hello from the build stage');
    expect(cli(['down']).status).toBe(0);
    expect(mountsUnder()).toBe(0);
  }, 240_000);

  function waitForLogs(text: string): string {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const out = cli(['logs', '--no-log-prefix', 'app']).stdout;
      if (out.includes(text) || Date.now() > deadline) return out;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
});
