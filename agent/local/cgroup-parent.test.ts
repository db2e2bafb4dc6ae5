import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { removeEmptyCgroupParent } from './cgroup-parent.js';

describe('removing the empty parent cgroup', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsc-cgparent-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('removes it under every controller where it is empty, and keeps it where it is not', async () => {
    await mkdir(join(root, 'memory/tsc-compose'), { recursive: true });
    await mkdir(join(root, 'pids/tsc-compose/other-agents-container'), { recursive: true });
    await mkdir(join(root, 'cpu'), { recursive: true });
    await writeFile(join(root, 'cgroup.controllers'), '');
    expect(await removeEmptyCgroupParent('/tsc-compose', root)).toEqual([join(root, 'pids/tsc-compose')]);
    expect(await readdir(join(root, 'memory'))).toEqual([]);
    expect(await readdir(join(root, 'pids/tsc-compose'))).toEqual(['other-agents-container']);
  });
});
