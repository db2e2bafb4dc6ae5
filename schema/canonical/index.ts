/**
 * Short syntax to long syntax, one file at a time, before merge (compose-go transform.Canonical):
 * merge keys ports and volumes by their long forms, so every file must be canonical first.
 * Idempotent: a canonical tree comes back equal.
 *
 * The rules are the table below, one row per attribute path; each attribute's functions sit in
 * their own file of this folder. Scalar casts (durations, sizes, numbers, booleans) run here too,
 * so a value interpolated from `${VAR}` gets its type wherever it is.
 */
import type { ComposeTree, PhaseContext } from '../phase.js';
import type { Rule } from '../walk.js';
import { rewrite } from '../walk.js';
import { transformCommand, transformHealthcheckTest } from './command.js';
import { transformEnvironment, transformLabels } from './mapping.js';
import { transformPortEntry, transformPorts } from './ports.js';
import { transformBuild } from './build.js';
import { transformDependsOn } from './depends-on.js';
import { transformDevice } from './devices.js';
import { transformEnvFile } from './env-file.js';
import { transformExtends } from './extends.js';
import { transformMaybeExternal } from './external.js';
import { transformExtraHosts } from './extra-hosts.js';
import { transformFileMount } from './file-mounts.js';
import { transformServiceNetworks } from './networks.js';
import { transformUlimit } from './ulimits.js';
import { transformWatch } from './watch.js';
import { asBool, asBytes, asDuration, asInt, asMicroseconds, asNumber, asString, stringToList } from './values.js';
import { transformVolume, transformVolumes } from './volumes.js';

const S = 'services.*';

const rows: Array<[string, Rule]> = [
  // shapes
  [`${S}.ports`, transformPorts],
  [`${S}.ports[]`, transformPortEntry],
  [`${S}.volumes`, transformVolumes],
  [`${S}.volumes[]`, transformVolume],
  [`${S}.environment`, transformEnvironment],
  [`${S}.labels`, transformLabels],
  [`${S}.annotations`, transformLabels],
  [`${S}.sysctls`, transformLabels],
  [`${S}.env_file`, transformEnvFile],
  [`${S}.label_file`, stringToList],
  [`${S}.networks`, transformServiceNetworks],
  [`${S}.build`, transformBuild],
  [`${S}.build.args`, transformEnvironment],
  [`${S}.build.labels`, transformLabels],
  [`${S}.build.additional_contexts`, transformLabels],
  [`${S}.build.secrets[]`, transformFileMount],
  [`${S}.build.ulimits.*`, transformUlimit],
  [`${S}.build.shm_size`, asBytes],
  [`${S}.depends_on`, transformDependsOn],
  [`${S}.extends`, transformExtends],
  [`${S}.secrets[]`, transformFileMount],
  [`${S}.configs[]`, transformFileMount],
  [`${S}.devices[]`, transformDevice],
  [`${S}.ulimits.*`, transformUlimit],
  [`${S}.develop.watch`, transformWatch],
  [`${S}.develop.watch[].ignore`, stringToList],
  [`${S}.develop.watch[].include`, stringToList],
  [`${S}.develop.watch[].initial_sync`, asBool],
  [`${S}.develop.watch[].exec.command`, transformCommand],
  [`${S}.develop.watch[].exec.environment`, transformEnvironment],
  [`${S}.develop.watch[].exec.privileged`, asBool],
  [`${S}.command`, transformCommand],
  [`${S}.entrypoint`, transformCommand],
  [`${S}.healthcheck.test`, transformHealthcheckTest],
  [`${S}.dns`, stringToList],
  [`${S}.dns_search`, stringToList],
  [`${S}.tmpfs`, stringToList],
  [`${S}.expose[]`, asString],
  [`${S}.group_add[]`, asString],
  [`${S}.secrets[].uid`, asString],
  [`${S}.secrets[].gid`, asString],
  [`${S}.configs[].uid`, asString],
  [`${S}.configs[].gid`, asString],
  [`${S}.extra_hosts`, transformExtraHosts],
  [`${S}.build.extra_hosts`, transformExtraHosts],
  [`${S}.logging.options`, transformLabels],
  [`${S}.deploy.labels`, transformLabels],
  [`${S}.networks.*.driver_opts`, transformLabels],
  [`${S}.volumes[].volume.labels`, transformLabels],
  ['networks.*', transformMaybeExternal],
  ['volumes.*', transformMaybeExternal],
  ['secrets.*', transformMaybeExternal],
  ['configs.*', transformMaybeExternal],
  ['networks.*.labels', transformLabels],
  ['networks.*.driver_opts', transformLabels],
  ['networks.*.ipam.config[].aux_addresses', transformLabels],
  ['volumes.*.labels', transformLabels],
  ['volumes.*.driver_opts', transformLabels],
  ['secrets.*.labels', transformLabels],
  ['configs.*.labels', transformLabels],
  // durations
  [`${S}.healthcheck.interval`, asDuration],
  [`${S}.healthcheck.timeout`, asDuration],
  [`${S}.healthcheck.start_period`, asDuration],
  [`${S}.healthcheck.start_interval`, asDuration],
  [`${S}.stop_grace_period`, asDuration],
  [`${S}.deploy.update_config.delay`, asDuration],
  [`${S}.deploy.update_config.monitor`, asDuration],
  [`${S}.deploy.rollback_config.delay`, asDuration],
  [`${S}.deploy.rollback_config.monitor`, asDuration],
  [`${S}.deploy.restart_policy.delay`, asDuration],
  [`${S}.deploy.restart_policy.window`, asDuration],
  // sizes
  [`${S}.mem_limit`, asBytes],
  [`${S}.mem_reservation`, asBytes],
  [`${S}.memswap_limit`, asBytes],
  [`${S}.mem_swappiness`, asBytes],
  [`${S}.shm_size`, asBytes],
  // compose-go's ThrottleDevice.Rate is UnitBytes: `12mb` prints as 12582912 (iops are plain counts)
  [`${S}.blkio_config.device_read_bps[].rate`, asBytes],
  [`${S}.blkio_config.device_write_bps[].rate`, asBytes],
  [`${S}.deploy.resources.limits.memory`, asBytes],
  [`${S}.deploy.resources.reservations.memory`, asBytes],
  // numbers
  [`${S}.cpus`, asNumber],
  [`${S}.cpu_percent`, asNumber],
  [`${S}.cpu_count`, asInt],
  [`${S}.cpu_period`, asInt],
  [`${S}.cpu_quota`, asInt],
  [`${S}.cpu_rt_period`, asMicroseconds],
  [`${S}.cpu_rt_runtime`, asMicroseconds],
  [`${S}.cpu_shares`, asInt],
  [`${S}.oom_score_adj`, asInt],
  [`${S}.pids_limit`, asInt],
  [`${S}.scale`, asInt],
  [`${S}.healthcheck.retries`, asInt],
  [`${S}.deploy.replicas`, asInt],
  [`${S}.deploy.resources.limits.cpus`, asNumber],
  [`${S}.deploy.resources.reservations.cpus`, asNumber],
  [`${S}.deploy.resources.limits.pids`, asInt],
  [`${S}.deploy.update_config.parallelism`, asInt],
  [`${S}.deploy.update_config.max_failure_ratio`, asNumber],
  [`${S}.deploy.rollback_config.parallelism`, asInt],
  [`${S}.deploy.rollback_config.max_failure_ratio`, asNumber],
  [`${S}.deploy.restart_policy.max_attempts`, asInt],
  [`${S}.deploy.placement.max_replicas_per_node`, asInt],
  [`${S}.networks.*.priority`, asInt],
  [`${S}.networks.*.gw_priority`, asInt],
  // booleans
  [`${S}.init`, asBool],
  [`${S}.privileged`, asBool],
  [`${S}.read_only`, asBool],
  [`${S}.stdin_open`, asBool],
  [`${S}.tty`, asBool],
  [`${S}.oom_kill_disable`, asBool],
  [`${S}.healthcheck.disable`, asBool],
  [`${S}.volumes[].read_only`, asBool],
  [`${S}.volumes[].volume.nocopy`, asBool],
  ['networks.*.internal', asBool],
  ['networks.*.attachable', asBool],
  ['networks.*.enable_ipv6', asBool],
  ['networks.*.enable_ipv4', asBool],
];

export const canonicalRules: ReadonlyMap<string, Rule> = new Map(rows);

export function canonicalize(tree: ComposeTree, ctx: PhaseContext): ComposeTree {
  return rewrite(tree, canonicalRules, ctx.positions);
}
