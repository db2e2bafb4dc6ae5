import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { describePrivileged, root } from '../../test/support/privileged.js';
import { mount, umount } from './run-command.js';

describePrivileged('mount and umount (tsc-spawn built-ins, mount(8) without the helper)', [root], () => {
  it('mounts an overlay from paths relative to cwd, unmounts it, and reports failures as mount(8) does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsc-mount-'));
    try {
      for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, d));
      writeFileSync(join(dir, 'lower', 'f'), 'from below');
      const made = await mount('overlay', 'overlay', 'lowerdir=lower,upperdir=upper,workdir=work', 'merged', { cwd: dir });
      expect(made).toMatchObject({ code: 0 });
      expect(readFileSync(join(dir, 'merged', 'f'), 'utf8')).toBe('from below');
      expect(await umount(join(dir, 'merged'))).toMatchObject({ code: 0 });
      const again = await umount(join(dir, 'merged'));
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/umount: .*merged/);
      const missing = await mount('overlay', 'overlay', 'lowerdir=lower,upperdir=upper,workdir=work', 'nowhere', { cwd: dir });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/mount: .*nowhere.*(No such file|does not exist)/i);
    } finally {
      await umount(join(dir, 'merged')).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
