/**
 * One process at a time on an embedded PGlite data folder. PGlite is a single-user PostgreSQL: a second
 * process opening the same folder (say `agent create` while `npm start` runs) silently sees stale data and
 * corrupts the files. A lock file holding the owner's pid refuses that with a clear message; a lock left by
 * a process that no longer runs is taken over.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'mistral-agent-chat.lock';

export interface LockInfo {
  pid: number;
  /** 'serve' or the CLI command holding it. */
  command: string;
  since: string;
}

export class DataDirBusyError extends Error {
  readonly holder: LockInfo;
  constructor(dataDir: string, holder: LockInfo) {
    const who = holder.command === 'serve' ? 'the mistral-agent-chat server' : `"mistral-agent-chat ${holder.command}"`;
    super(
      `the embedded database in ${dataDir} is in use by ${who} (pid ${holder.pid}). ` +
        'Only one process can open it at a time: stop that process first, or point both at PostgreSQL with DATABASE_URL.',
    );
    this.name = 'DataDirBusyError';
    this.holder = holder;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return null; // missing, or half-written by a crashed process: treat as stale
  }
}

/** Takes the folder's lock or throws DataDirBusyError; returns the release function. */
export function lockDataDir(dataDir: string, command: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        if (readLock(path)?.pid === process.pid) unlinkSync(path);
      };
      process.on('exit', release); // also on process.exit() from a signal handler
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(path);
      if (holder && holder.pid !== process.pid && alive(holder.pid)) throw new DataDirBusyError(dataDir, holder);
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}
