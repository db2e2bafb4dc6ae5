/**
 * Where a benchmark keeps both tools' state (images, containers, run files): under /var/lib,
 * where both keep theirs by default (/var/lib/docker, /var/lib/tsc-compose), or `BENCH_DIR`.
 * Not in /tmp: on the test VM a new file there costs ~0.84 ms of CPU against 0.03-0.09 ms in
 * /var/tmp or /var/lib on the same ext4 filesystem (2,000 files each, 2026-11-23: /tmp's block
 * group is crowded), a cost that would weigh on whichever tool writes more small files rather
 * than on the tools' own work.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';

export function benchDir(prefix: string): Promise<string> {
  return mkdtemp(join(process.env['BENCH_DIR'] ?? '/var/lib', prefix));
}
