/**
 * `ps` output as docker compose v2 prints it: a table (NAME IMAGE COMMAND SERVICE CREATED
 * STATUS PORTS) or, with `--format json`, one JSON object per line with its field names.
 */
import type { ContainerSummary } from '../../agent/api/types.js';
import { humanDuration } from '../../agent/status-text.js';
import { LABEL } from '../../reconciler/labels.js';

export interface PsRow {
  ID: string;
  Name: string;
  Image: string;
  Command: string;
  Project: string;
  Service: string;
  Created: number;
  RunningFor: string;
  State: string;
  Status: string;
  Health: string;
  ExitCode: number;
  Publishers: Array<{ URL: string; TargetPort: number; PublishedPort: number; Protocol: string }>;
  Labels: string;
  Networks: string;
}

/** `0.0.0.0:8080->80/tcp, :::8080->80/tcp`, the PORTS column. */
export function portsText(c: ContainerSummary): string {
  const parts: string[] = [];
  for (const p of c.ports) {
    const ips = p.hostIp === '' ? ['0.0.0.0', '::'] : [p.hostIp];
    for (const ip of ips) parts.push(`${ip.includes(':') ? `[${ip}]`.replace('[::]', ':::').replace(/^\[(.*)\]$/, '$1:') : `${ip}:`}${p.hostPort}->${p.target}/${p.protocol}`);
  }
  return parts.join(', ');
}

export function psRow(c: ContainerSummary, command: string, now: number): PsRow {
  return {
    ID: c.id,
    Name: c.name,
    Image: c.image,
    Command: command,
    Project: c.labels[LABEL.project] ?? '',
    Service: c.labels[LABEL.service] ?? '',
    Created: Math.floor(Date.parse(c.createdAt) / 1000),
    RunningFor: `${humanDuration(now - Date.parse(c.createdAt))} ago`,
    State: c.state,
    Status: c.status,
    Health: c.health === 'none' ? '' : c.health,
    ExitCode: c.exitCode,
    Publishers: c.ports.map((p) => ({ URL: p.hostIp === '' ? '0.0.0.0' : p.hostIp, TargetPort: p.target, PublishedPort: p.hostPort, Protocol: p.protocol })),
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(','),
    Networks: c.networks.join(','),
  };
}

/** Docker's table: columns padded to their widest cell, three spaces apart. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function psTable(rows: readonly PsRow[], ports: readonly string[]): string {
  // docker/cli: strconv.Quote(Ellipsis(command, 20)).
  const quote = (s: string) => JSON.stringify(s.length > 20 ? `${s.slice(0, 19)}…` : s);
  return table(
    ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'],
    rows.map((r, i) => [r.Name, r.Image, quote(r.Command), r.Service, r.RunningFor, r.Status, ports[i] ?? '']),
  );
}
