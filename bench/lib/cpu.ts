/** CPU accounting: whole machine (/proc/stat, Linux) and per process, so a noisy shared machine shows. */
import { readdirSync, readFileSync } from 'node:fs';

export interface MachineCpu {
  busyMs: number;
  totalMs: number;
}

/** Cumulative CPU time of all cores; zeros where /proc/stat is missing (not Linux). */
export function machineCpu(): MachineCpu {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const tick = 10; // USER_HZ = 100 on Linux: one tick is 10 ms
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busyMs: (total - idle) * tick, totalMs: total * tick };
  } catch {
    return { busyMs: 0, totalMs: 0 };
  }
}

/** This process's CPU time in ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms used so far by live processes whose name starts with `name` (e.g. every `postgres` backend). */
export function processesCpuMs(name: string): number {
  let ticks = 0;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith(name)) continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * 10;
}
