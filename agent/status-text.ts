/**
 * The STATUS column of `docker ps`: "Up 3 minutes (healthy)", "Exited (137) 2 seconds ago",
 * "Created", "Up 5 seconds (Paused)", "Restarting (1) 1 second ago". Durations read as
 * Docker's `units.HumanDuration` writes them.
 */
import type { ContainerStatus, HealthStatus } from './api/types.js';

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

export function statusText(args: {
  state: ContainerStatus;
  health: HealthStatus;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  now: number;
}): string {
  const since = (t: string) => humanDuration(Math.max(0, args.now - Date.parse(t)));
  switch (args.state) {
    case 'created':
      return 'Created';
    case 'running':
    case 'paused': {
      const health = args.health === 'none' ? '' : args.health === 'starting' ? ' (health: starting)' : ` (${args.health})`;
      return `Up ${since(args.startedAt)}${args.state === 'paused' ? ' (Paused)' : health}`;
    }
    case 'restarting':
      return `Restarting (${args.exitCode}) ${since(args.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      return `Exited (${args.exitCode}) ${since(args.finishedAt)} ago`;
  }
}
