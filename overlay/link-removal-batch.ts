/**
 * Removals of containers' links, gathered: the host ends of veths (and the namespaces they
 * led into) of every container stopping at about the same time go in one `ip -batch`.
 *
 * Why: each `ip link del` unregisters its device on its own, and the kernel makes every
 * unregistering wait for RCU grace periods under the RTNL lock, so ten containers stopped at
 * once waited ~30 ms each, one after another (~300 ms for a 10-service `down`). Devices deleted
 * by one request share those waits: the batch gives its devices a netdev group of its own and
 * deletes the group (`ip link del group G`, one unregistering of them all), ~15-30 ms for ten.
 *
 * A batch is sent when the event loop next turns, or, while one is running, as soon as it is
 * done (removals arriving meanwhile join the next one). If a batch fails (a device already gone,
 * say) each of its removals is retried on its own, so one bad request never fails the others.
 */
import type { LinkOp } from './link-plan.js';

export interface LinkRemoval {
  /** Host-side devices to delete (their peers in the namespaces go with them). */
  devices: readonly string[];
  /** Named namespaces (`ip netns` names) to delete after the devices. */
  namespaces: readonly string[];
}

/** The device a host-side `ip link del DEV` op deletes; undefined for any other op. */
export function hostLinkDeleted(op: LinkOp): string | undefined {
  return op.kind === 'ip' && op.netns === undefined && op.optional !== true && op.args.length === 3 && op.args[0] === 'link' && op.args[1] === 'del' ? op.args[2] : undefined;
}

export interface LinkRemovalBatcher {
  remove(r: LinkRemoval): Promise<void>;
}

/** Netdev groups a batch may use: never 0 (every device's default) nor the low numbers people name. */
export const BATCH_GROUPS = { min: 0x40000000, max: 0x7fffffff } as const;

/**
 * The ops of one batch (pure): with a `group`, every device put into it and the group deleted
 * (one unregistering); without, one delete per device. Then the namespaces.
 */
export function planRemovalBatch(removals: readonly LinkRemoval[], group?: number): LinkOp[] {
  const devices = removals.flatMap((r) => r.devices);
  const namespaces = removals.flatMap((r) => r.namespaces);
  if (group !== undefined && (!Number.isInteger(group) || group < BATCH_GROUPS.min || group > BATCH_GROUPS.max)) {
    throw new Error(`netdev group ${group} is outside the range kept for batches`);
  }
  const del: LinkOp[] =
    group === undefined || devices.length <= 1
      ? devices.map((d) => ({ kind: 'ip', args: ['link', 'del', d] }))
      : [...devices.map((d): LinkOp => ({ kind: 'ip', args: ['link', 'set', 'dev', d, 'group', String(group)] })), { kind: 'ip', args: ['link', 'del', 'group', String(group)] }];
  return [...del, ...namespaces.map((n): LinkOp => ({ kind: 'ip', args: ['netns', 'del', n] }))];
}

/**
 * `apply` carries out ops (one `ip -batch`); `group` picks the netdev group of a batch (a
 * random number in BATCH_GROUPS that no other device uses: other agents share the kernel).
 */
export function createLinkRemovalBatcher(apply: (ops: LinkOp[]) => Promise<void>, group: () => number): LinkRemovalBatcher {
  interface Waiting {
    removal: LinkRemoval;
    resolve(): void;
    reject(e: unknown): void;
  }
  let queued: Waiting[] = [];
  let running = false;
  let scheduled = false;

  async function send(batch: Waiting[]): Promise<void> {
    try {
      await apply(planRemovalBatch(batch.map((w) => w.removal), group()));
      for (const w of batch) w.resolve();
    } catch (e) {
      if (batch.length === 1) {
        (batch[0] as Waiting).reject(e);
        return;
      }
      // Each on its own: the ones that can succeed do, the failing one reports its own error.
      await Promise.all(batch.map((w) => apply(planRemovalBatch([w.removal])).then(w.resolve, w.reject)));
    }
  }

  function flush(): void {
    scheduled = false;
    if (running || queued.length === 0) return;
    const batch = queued;
    queued = [];
    running = true;
    void send(batch).finally(() => {
      running = false;
      flush();
    });
  }

  return {
    remove(removal) {
      if (removal.devices.length === 0 && removal.namespaces.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queued.push({ removal, resolve, reject });
        if (!scheduled && !running) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
