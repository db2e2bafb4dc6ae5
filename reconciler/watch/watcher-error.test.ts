import { describe, expect, it } from 'vitest';

import { watcherError } from './watcher-error.js';

const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: failed`), { code, ...(path === undefined ? {} : { path }) });

describe('watcherError', () => {
  it('names fs.inotify.max_user_watches when inotify runs out of watches (ENOSPC)', () => {
    const e = watcherError(errno('ENOSPC', '/p/src/node_modules/x'), { maxUserWatches: 8192 });
    expect(e.format()).toBe(
      'inotify watch limit reached while watching /p/src/node_modules/x: fs.inotify.max_user_watches (now 8192) is too low for the watched tree\n' +
        'hint: raise it with `sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it), or ignore large directories in develop.watch[].ignore or .dockerignore',
    );
  });

  it('names fs.inotify.max_user_instances on EMFILE, and passes anything else on', () => {
    expect(watcherError(errno('EMFILE'), { maxUserInstances: 128 }).message).toBe('too many inotify instances: fs.inotify.max_user_instances (now 128) is reached');
    expect(watcherError(errno('EACCES', '/p/x')).message).toBe('file watcher failed while watching /p/x: EACCES: failed');
  });
});
