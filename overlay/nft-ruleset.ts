/**
 * The host's nftables ruleset for all our networks, rendered as `nft -f` text by a pure
 * function. The whole table is replaced in one transaction (create-if-missing, delete,
 * re-create), so every change is atomic and `down` is the same call with nothing in it;
 * `renderRulesetChange` gives the smaller transaction a container's connect/disconnect needs.
 * Conntrack keeps existing flows across reloads.
 *
 * One `inet` table carries both families: forward filtering (isolation, internal networks),
 * DNAT for published ports (prerouting for traffic from other machines and from containers,
 * output for the host itself) and masquerading (egress, hairpin, localhost). Traffic between
 * two ports of one bridge never reaches these hooks (no br_netfilter): `enable_icc: false` is
 * carried out by isolated bridge ports instead (link-plan.ts).
 */
import type { Family } from './ip-addr.js';

export interface RulesetNetwork {
  bridge: string;
  /** CIDRs of the network (IPv4 and IPv6). */
  subnets: string[];
  internal: boolean;
  /** enable_ip_masquerade (default true). */
  masquerade: boolean;
  /** enable_icc (default true); informational here, carried out by isolated bridge ports. */
  icc: boolean;
}

/** One published port, already resolved to one host port and one container address. */
export interface RulesetPort {
  family: Family;
  protocol: 'tcp' | 'udp';
  /** Restricts the mapping to one host address; all local addresses when absent. */
  hostIp?: string | undefined;
  hostPort: number;
  containerIp: string;
  containerPort: number;
  /** For the rule comment, so `nft list` says whose port it is. */
  owner: string;
}

/**
 * A service's virtual IP (swarm's endpoint_mode: vip): connections to vip:port are spread
 * over the backends round-robin by nftables (`numgen inc`), since there is no IPVS here.
 */
export interface RulesetVip {
  vip: string;
  protocol: 'tcp' | 'udp';
  port: number;
  backends: { ip: string; port: number }[];
  owner: string;
}

export interface Ruleset {
  /** Table name, e.g. `tsc_compose` (tests use unique ones). */
  table: string;
  networks: RulesetNetwork[];
  ports: RulesetPort[];
  vips: RulesetVip[];
}

function q(name: string): string {
  return JSON.stringify(name);
}

function saddrMatch(cidr: string): string {
  return `${cidr.includes(':') ? 'ip6' : 'ip'} saddr ${cidr}`;
}

/** One DNAT rule for a VIP port; none without backends (nothing to balance to). */
export function vipRule(v: RulesetVip): string | undefined {
  if (v.backends.length === 0) return undefined;
  const head = `ip daddr ${v.vip} ${v.protocol} dport ${v.port} dnat ip to`;
  const first = v.backends[0] as RulesetVip['backends'][number];
  if (v.backends.length === 1) return `${head} ${first.ip}:${first.port} comment ${q(v.owner)}`;
  const map = v.backends.map((b, i) => `${i} : ${b.ip} . ${b.port}`).join(', ');
  return `${head} numgen inc mod ${v.backends.length} map { ${map} } comment ${q(v.owner)}`;
}

function portRule(p: RulesetPort): string {
  const ipk = p.family === 4 ? 'ip' : 'ip6';
  const host = p.hostIp === undefined ? '' : `${p.hostIp.includes(':') ? 'ip6' : 'ip'} daddr ${p.hostIp} `;
  const target = p.family === 4 ? `${p.containerIp}:${p.containerPort}` : `[${p.containerIp}]:${p.containerPort}`;
  return `meta nfproto ${p.family === 4 ? 'ipv4' : 'ipv6'} ${host}${p.protocol} dport ${p.hostPort} dnat ${ipk} to ${target} comment ${q(p.owner)}`;
}

/** The `table inet NAME { ... }` body for the given state (no delete prefix). */
export function renderInetTable(rs: Ruleset): string {
  const lines: string[] = [];
  const bridges = rs.networks.map((n) => n.bridge);
  lines.push(`table inet ${rs.table} {`);
  if (bridges.length > 0) {
    lines.push(`  set bridges {`, `    type ifname`, `    elements = { ${bridges.map(q).join(', ')} }`, `  }`);
  }
  if (bridges.length > 0) {
    // route_localnet is on for our bridges: never let a container address the host's loopback
    // (the hole of CVE-2020-8558), only our own DNAT of 127.0.0.1 traffic may use it.
    lines.push(`  chain guard {`, `    type filter hook prerouting priority -300; policy accept;`);
    lines.push(`    iifname @bridges ip daddr 127.0.0.0/8 drop comment "no loopback from containers"`, `  }`);
  }
  lines.push(`  chain forward {`, `    type filter hook forward priority 0; policy accept;`);
  for (const n of rs.networks.filter((x) => x.internal)) {
    lines.push(`    iifname ${q(n.bridge)} oifname != ${q(n.bridge)} drop comment "internal network"`);
    lines.push(`    oifname ${q(n.bridge)} iifname != ${q(n.bridge)} drop comment "internal network"`);
  }
  if (bridges.length > 0) {
    lines.push(`    ct state established,related accept`);
    // Published ports are public: a container may reach another network's published port.
    lines.push(`    iifname @bridges oifname @bridges ct status dnat accept`);
    for (const b of bridges) {
      lines.push(`    iifname ${q(b)} oifname != ${q(b)} oifname @bridges drop comment "isolation"`);
    }
  }
  lines.push(`  }`);
  lines.push(`  chain ports {`);
  for (const p of rs.ports) lines.push(`    ${portRule(p)}`);
  for (const v of rs.vips) {
    const r = vipRule(v);
    if (r !== undefined) lines.push(`    ${r}`);
  }
  lines.push(`  }`);
  lines.push(`  chain prerouting {`, `    type nat hook prerouting priority -100; policy accept;`);
  lines.push(`    fib daddr type local jump ports`, `  }`);
  lines.push(`  chain output {`, `    type nat hook output priority -100; policy accept;`);
  lines.push(`    fib daddr type local jump ports`, `  }`);
  lines.push(`  chain postrouting {`, `    type nat hook postrouting priority 100; policy accept;`);
  for (const n of rs.networks) {
    // The host reaching a published port through 127.0.0.1 (route_localnet on the bridge).
    lines.push(`    oifname ${q(n.bridge)} ip saddr 127.0.0.0/8 masquerade comment "localhost to published port"`);
    for (const s of n.subnets) {
      // Hairpin: a container reaching a published port on its own bridge.
      lines.push(`    oifname ${q(n.bridge)} ${saddrMatch(s)} ct status dnat masquerade comment "hairpin"`);
      if (!n.internal && n.masquerade) {
        lines.push(`    ${saddrMatch(s)} oifname != ${q(n.bridge)} masquerade comment "egress"`);
      }
    }
  }
  lines.push(`  }`);
  lines.push(`}`);
  return lines.join('\n');
}

/**
 * The `nft -f` script that replaces our tables with the given state in one transaction.
 * With no networks and no ports it only deletes: that is teardown.
 */
export function renderRulesetScript(rs: Ruleset): string {
  const parts = [`table inet ${rs.table}`, `delete table inet ${rs.table}`];
  if (!isEmpty(rs)) parts.push(renderInetTable(rs));
  return `${parts.join('\n')}\n`;
}

function isEmpty(rs: Ruleset): boolean {
  return rs.networks.length === 0 && rs.ports.length === 0 && rs.vips.length === 0;
}

/** The rules of the `ports` chain, in order (published ports, then VIPs with backends). */
function portsChainRules(rs: Ruleset): string[] {
  return [...rs.ports.map(portRule), ...rs.vips.map(vipRule).filter((r): r is string => r !== undefined)];
}

/**
 * What turns the table as `prev` rendered it into `next`: nothing when they render the same
 * (a container without published ports changes no rule); only the `ports` chain, flushed and
 * refilled in one transaction, when the networks are the same (containers and VIP backends
 * coming and going touch nothing else); the table alone, without the delete that replaces it,
 * when `prev` was empty (its write deleted the table: deleting makes the commit wait for an
 * RCU grace period, ~10 ms of a project's first `up`); the whole table otherwise, or when what
 * the kernel holds is unknown (`prev` undefined: at start, after a restore, after a failure).
 */
export function renderRulesetChange(prev: Ruleset | undefined, next: Ruleset): string | undefined {
  if (prev !== undefined && prev.table === next.table) {
    if (isEmpty(prev)) return isEmpty(next) ? undefined : `${renderInetTable(next)}\n`;
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (same(prev.networks, next.networks) && !isEmpty(prev) && !isEmpty(next)) {
      const before = portsChainRules(prev);
      const after = portsChainRules(next);
      if (same(before, after)) return undefined;
      const t = `inet ${next.table}`;
      return `${[`flush chain ${t} ports`, ...after.map((r) => `add rule ${t} ports ${r}`)].join('\n')}\n`;
    }
  }
  return renderRulesetScript(next);
}

/**
 * The per-container table that makes 127.0.0.11:53 reach the host's DNS server: DNAT in the
 * container's own output hook to the server's address, and SNAT to the container's address
 * so the server knows who asks (route_localnet must be on for the interface).
 */
export function renderResolverScript(opts: {
  table: string;
  /** Where the host's DNS server listens (an address reachable from the container). */
  server: string;
  serverPort: number;
  /** How many servers listen on consecutive ports from serverPort (flows spread over them). */
  serverPorts?: number | undefined;
  /** The container's address on the network the server address is on. */
  source: string;
  /**
   * The namespace was made by the same script: there is no table to replace, so the
   * create-then-delete prefix is left out (a delete makes the commit wait for an RCU grace
   * period, ~10 ms of each container's start).
   */
  fresh?: boolean | undefined;
}): string {
  const t = opts.table;
  const n = opts.serverPorts ?? 1;
  // Several servers: each new flow goes to the next port (a map, as for VIPs: a numgen value
  // used as the port directly would be in the wrong byte order).
  const spread = Array.from({ length: n }, (_, i) => `${i} : ${opts.server} . ${opts.serverPort + i}`).join(', ');
  const to = n > 1 ? `numgen inc mod ${n} map { ${spread} }` : `${opts.server}:${opts.serverPort}`;
  return [
    ...(opts.fresh === true ? [] : [`table ip ${t}`, `delete table ip ${t}`]),
    `table ip ${t} {`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    `    ip daddr 127.0.0.11 udp dport 53 dnat ip to ${to}`,
    `    ip daddr 127.0.0.11 tcp dport 53 dnat ip to ${to}`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority 100; policy accept;`,
    `    ip saddr 127.0.0.0/8 ip daddr ${opts.server} snat to ${opts.source}`,
    `  }`,
    // route_localnet is on inside too: nothing from outside may reach the container's loopback.
    `  chain guard {`,
    `    type filter hook prerouting priority -300; policy accept;`,
    `    iifname != "lo" ip daddr 127.0.0.0/8 drop`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}
