/** The host's route destinations, read from /proc, against what `ip route show` lists. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { command, describePrivileged } from '../test/support/privileged.js';
import { parseCidr } from './ip-addr.js';
import { parseProcIpv6Routes, parseProcRoutes, readRouteDestinations } from './link-shell.js';

const run = promisify(execFile);

describe('parseProcRoutes / parseProcIpv6Routes', () => {
  it('reads IPv4 destinations and masks (little-endian hex), leaving the default route out', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'br0\t0300110A\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
    ].join('\n');
    expect(parseProcRoutes(text)).toEqual(['192.0.2.0/24', '10.17.0.3/32']);
  });

  it('reads IPv6 destinations, leaving out the default, local addresses and multicast', () => {
    const z = '00000000000000000000000000000000';
    const text = [
      `fd000000000000000000000000000000 40 ${z} 00 ${z} 00000100 00000002 00000000 00000001     eth0`,
      `${z} 00 ${z} 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0`,
      `00000000000000000000000000000001 80 ${z} 00 ${z} 00000000 00000002 00000000 80200001       lo`,
      `ff000000000000000000000000000000 08 ${z} 00 ${z} 00000100 00000004 00000000 00000001     eth0`,
    ].join('\n');
    expect(parseProcIpv6Routes(text)).toEqual(['fd00:0000:0000:0000:0000:0000:0000:0000/64']);
  });
});

describePrivileged('readRouteDestinations on this host', [command('ip')], () => {
  it('covers what `ip route show` lists for the main table', async () => {
    const key = (c: string) => {
      const p = parseCidr(c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`);
      return p === undefined ? c : `${p.family}:${p.base}/${p.prefix}`;
    };
    const ours = new Set((await readRouteDestinations()).map(key));
    for (const fam of ['-4', '-6']) {
      const rows = JSON.parse((await run('ip', ['-json', fam, 'route', 'show'])).stdout || '[]') as Array<{ dst?: string }>;
      for (const r of rows) if (r.dst !== undefined && r.dst !== 'default') expect(ours.has(key(r.dst)), r.dst).toBe(true);
    }
  });
});
