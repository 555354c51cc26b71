/**
 * The proxy under test, in its own process: the real Node entry (`startServer`, what `npm start` runs) with
 * env from the parent (DATABASE_URL or DATA_DIR, MISTRAL_BASE_URL = the stand-in). Answers the parent's
 * requests: `cpu` (process CPU time), `profile-start` / `profile-stop` (V8 CPU profile through the
 * inspector, written to `path`), `stop`.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Logger } from '../src/server/log.ts';
import { startServer } from '../src/server/node/server.ts';
import { serveParent } from './lib/child.ts';

// Warnings and errors go to stderr, but at most a few: an overloaded run must not drown the table.
let logged = 0;
const counts = { warn: 0, error: 0 };
const sink = (level: 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) => {
  counts[level]++;
  if (logged++ < 5) process.stderr.write(`[proxy ${level}] ${msg} ${fields ? JSON.stringify(fields) : ''}\n`);
};
const log: Logger = { info: () => {}, warn: sink('warn'), error: sink('error') };

let session: Session | undefined;

try {
  const server = await startServer({ env: process.env, log, port: 0 });
  if (!server.databaseReady) throw new Error('the database is not reachable');
  serveParent(async (m) => {
    switch (m.type) {
      case 'cpu': {
        const u = process.cpuUsage();
        return { userUs: u.user, systemUs: u.system, warn: counts.warn, error: counts.error };
      }
      case 'profile-start':
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: Number(m.intervalUs ?? 250) });
        await session.post('Profiler.start');
        return {};
      case 'profile-stop': {
        if (!session) throw new Error('no profile running');
        const { profile } = await session.post('Profiler.stop');
        await writeFile(String(m.path), JSON.stringify(profile));
        session.disconnect();
        session = undefined;
        return {};
      }
      case 'stop':
        await server.close();
        setImmediate(() => process.exit(0));
        return {};
      default:
        throw new Error(`unknown request ${String(m.type)}`);
    }
  });
  process.send?.({ type: 'ready', port: server.port, database: server.database });
} catch (err) {
  process.send?.({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  process.exitCode = 1;
}
