/**
 * The agent's event bus: every container, image, network and volume change is published
 * here once, and `docker events`-style subscribers (the API's `events` stream, `up`'s
 * waiting for health, the reconciler) read it as an AsyncIterable. Subscribers that fall
 * behind buffer without bound: events are small and consumers are local.
 */
import type { AgentEvent, ListFilter } from './api/types.js';
import { matchesLabels } from './label-filter.js';

export interface EventBus {
  publish(e: Omit<AgentEvent, 'time'> & { time?: string }): void;
  subscribe(filter?: ListFilter, signal?: AbortSignal): AsyncIterable<AgentEvent>;
}

export function createEventBus(now: () => Date = () => new Date()): EventBus {
  const subscribers = new Set<(e: AgentEvent) => void>();
  return {
    publish(e) {
      const ev: AgentEvent = { ...e, time: e.time ?? now().toISOString() };
      for (const s of subscribers) s(ev);
    },
    subscribe(filter, signal) {
      return {
        [Symbol.asyncIterator]() {
          const queue: AgentEvent[] = [];
          let wake: (() => void) | undefined;
          let closed = false;
          const push = (e: AgentEvent) => {
            if (!matchesLabels(e.attributes, filter?.label)) return;
            queue.push(e);
            wake?.();
          };
          const close = () => {
            closed = true;
            subscribers.delete(push);
            wake?.();
          };
          subscribers.add(push);
          signal?.addEventListener('abort', close, { once: true });
          return {
            async next(): Promise<IteratorResult<AgentEvent>> {
              while (queue.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
              const value = queue.shift();
              return value === undefined ? { done: true, value: undefined } : { done: false, value };
            },
            async return(): Promise<IteratorResult<AgentEvent>> {
              close();
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
  };
}
