/**
 * The agent's record of each container, one directory per container:
 *
 *   <root>/<id>/container.json   the record below, written atomically (temp + rename)
 *   <root>/<id>/<id>-json.log    its logs, written by the runtime's monitor (json-file)
 *   <root>/<id>/files/           the OCI bundle given to the runtime (config.json) and the
 *                                hosts, resolv.conf, secrets and configs made for it
 *
 * The record holds what only the agent knows (the spec, restart count, whether the user
 * stopped it); whether it runs is asked of the runtime, never trusted from here. At start the
 * agent reads every record back, so a restarted agent loses no container.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ContainerSpec, PortBinding } from './api/types.js';
import type { AttachedEndpoint } from './backends.js';
import type { ContainerSettings } from './images/container-settings.js';
import type { HealthState } from './health.js';
import type { RestartState } from './restart-policy.js';

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  spec: ContainerSpec;
  imageId: string;
  /** The image's config merged with the spec at create time, as Docker does (args, env, ...). */
  settings: ContainerSettings;
  restart: RestartState;
  /** Set by stop, kill and down: the restart policy leaves it alone until the next start. */
  stoppedByUser: boolean;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  endpoints: AttachedEndpoint[];
  ports: Array<PortBinding & { hostPort: number }>;
  health?: HealthState;
}

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export interface ContainerStore {
  dir(id: string): string;
  logPath(id: string): string;
  save(rec: ContainerRecord): Promise<void>;
  loadAll(): Promise<ContainerRecord[]>;
  remove(id: string): Promise<void>;
}

export function createContainerStore(root: string): ContainerStore {
  const dir = (id: string) => join(root, id);
  let seq = 0;
  return {
    dir,
    logPath: (id) => join(dir(id), `${id}-json.log`),
    async save(rec) {
      await mkdir(dir(rec.id), { recursive: true, mode: 0o700 });
      // Saves may overlap (a stop and the exit it causes): each writes its own temp file.
      const tmp = join(dir(rec.id), `.container.json.${process.pid}.${seq++}`);
      await writeFile(tmp, JSON.stringify(rec));
      await rename(tmp, join(dir(rec.id), 'container.json'));
    },
    async loadAll() {
      let ids: string[];
      try {
        ids = await readdir(root);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
      const recs = await Promise.all(
        ids.map(async (id) => {
          try {
            return JSON.parse(await readFile(join(dir(id), 'container.json'), 'utf8')) as ContainerRecord;
          } catch (e) {
            // A directory without a record is a create that died half-way: ignored here,
            // removed by the agent's start-up sweep.
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
            throw e;
          }
        }),
      );
      return recs.filter((r): r is ContainerRecord => r !== undefined);
    },
    async remove(id) {
      await rm(dir(id), { recursive: true, force: true });
    },
  };
}
