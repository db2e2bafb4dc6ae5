/**
 * `tsc-compose pull` for a project: each distinct image once, in parallel, following each
 * service's `pull_policy` as compose does: `always` pulls; `missing` / `if_not_present` (the
 * default) pulls what the store lacks; `never` and `build` never pull. A failure fails the
 * whole pull unless `ignorePullFailures`, where it is reported and the rest goes on.
 */
import { TscError } from '../../lib/errors.js';
import { findImage } from './image-resolve.js';
import type { ImageStore } from './image-store.js';
import type { PullOptions, PullResult } from './pull.js';
import { forEachLimit, pullImage } from './pull.js';
import { formatReference, parseReference } from './reference.js';

export type PullPolicy = 'always' | 'missing' | 'if_not_present' | 'never' | 'build';

export interface ServiceImage {
  service: string;
  image: string;
  pull_policy?: PullPolicy | undefined;
}

export type ServicePullOutcome =
  | { service: string; image: string; status: 'pulled'; result: PullResult }
  | { service: string; image: string; status: 'skipped'; reason: 'present' | 'never' | 'build' }
  | { service: string; image: string; status: 'failed'; error: Error };

/** What a policy means for an image that is (or is not) in the store: a pure decision. */
export function pullDecision(policy: PullPolicy | undefined, present: boolean): 'pull' | 'present' | 'never' | 'build' {
  switch (policy ?? 'missing') {
    case 'always':
      return 'pull';
    case 'never':
      return 'never';
    case 'build':
      return 'build';
    default:
      return present ? 'present' : 'pull';
  }
}

export async function pullServices(
  store: ImageStore,
  services: readonly ServiceImage[],
  opts: PullOptions & { ignorePullFailures?: boolean; parallel?: number } = {},
): Promise<ServicePullOutcome[]> {
  // Each image once: the first service naming it decides nothing more than the others.
  const byImage = new Map<string, ServiceImage[]>();
  for (const s of services) {
    const key = formatReference(parseReference(s.image));
    byImage.set(key, [...(byImage.get(key) ?? []), s]);
  }
  const outcomes = new Map<string, ServicePullOutcome>();
  await forEachLimit([...byImage], opts.parallel ?? 4, async ([image, users]) => {
    const present = (await findImage(store, image)) !== undefined;
    // `always` on any service of the image means a pull, as compose does.
    const decisions = users.map((u) => pullDecision(u.pull_policy, present));
    const decision = decisions.includes('pull') ? 'pull' : (decisions[0] ?? 'present');
    if (decision !== 'pull') {
      for (const u of users) outcomes.set(u.service, { service: u.service, image: u.image, status: 'skipped', reason: pullDecision(u.pull_policy, present) as 'present' | 'never' | 'build' });
      return;
    }
    try {
      const result = await pullImage(store, image, opts);
      for (const u of users) outcomes.set(u.service, { service: u.service, image: u.image, status: 'pulled', result });
    } catch (e) {
      if (opts.ignorePullFailures !== true) {
        throw new TscError(e instanceof TscError ? e.code : 'ERR_IMAGE', `service "${users[0]?.service}" failed to pull image ${users[0]?.image}: ${(e as Error).message}`, { cause: e });
      }
      for (const u of users) outcomes.set(u.service, { service: u.service, image: u.image, status: 'failed', error: e as Error });
    }
  });
  return services.map((s) => outcomes.get(s.service) as ServicePullOutcome);
}
