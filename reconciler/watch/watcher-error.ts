/**
 * What a file watcher's failure means to a user. inotify's limits are per user and
 * system-wide: when a tree has more directories than `fs.inotify.max_user_watches`, adding a
 * watch fails with ENOSPC ("no space left on device", which says nothing useful), and too many
 * watching processes hit `max_user_instances` with EMFILE. Both name the sysctl to raise.
 */
import { TscError } from '../../lib/errors.js';

export interface InotifyLimits {
  maxUserWatches?: number;
  maxUserInstances?: number;
}

export function watcherError(err: unknown, limits: InotifyLimits = {}): TscError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const path = (err as NodeJS.ErrnoException | undefined)?.path;
  const where = path === undefined ? '' : ` while watching ${path}`;
  if (code === 'ENOSPC') {
    const now = limits.maxUserWatches === undefined ? '' : ` (now ${limits.maxUserWatches})`;
    return new TscError('ERR_UNSUPPORTED', `inotify watch limit reached${where}: fs.inotify.max_user_watches${now} is too low for the watched tree`, {
      hint: 'raise it with `sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it), or ignore large directories in develop.watch[].ignore or .dockerignore',
      cause: err,
    });
  }
  if (code === 'EMFILE') {
    const now = limits.maxUserInstances === undefined ? '' : ` (now ${limits.maxUserInstances})`;
    return new TscError('ERR_UNSUPPORTED', `too many inotify instances${where}: fs.inotify.max_user_instances${now} is reached`, {
      hint: 'raise it with `sysctl fs.inotify.max_user_instances=1024`, or stop other watching processes',
      cause: err,
    });
  }
  return new TscError('ERR_RUNTIME', `file watcher failed${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
