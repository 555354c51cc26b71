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

/** CPU ms a live process has used so far in user space and in the kernel, from /proc/<pid>/stat; NaN when gone. */
export function processCpu(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(f[11]) * 10, system: Number(f[12]) * 10 }; // utime, stime (fields 14, 15): 10 ms ticks
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/** CPU ms (user + system) a live process has used so far; NaN when it is gone. */
export function processCpuMs(pid: number): number {
  const c = processCpu(pid);
  return c.user + c.system;
}

/** Summed CPU ms of several processes; those that ended meanwhile count as 0 (see `cpuDelta`). */
export function processesCpu(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, processCpuMs(pid)]));
}

/**
 * CPU used between two readings of a set of processes: a process present in both counts its difference, one
 * that appeared meanwhile counts from 0 (it started inside the window), one that ended counts nothing (its
 * last ticks are lost: the bench keeps its pools busy so backends do not end mid-phase).
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) {
    if (!Number.isFinite(now)) continue;
    const then = before.get(pid);
    ms += then !== undefined && Number.isFinite(then) ? now - then : now;
  }
  return ms;
}

/** Every live process whose name (comm) starts with `name`, e.g. the PostgreSQL server's background workers. */
export function pidsNamed(name: string): number[] {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith(name)) found.push(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}
