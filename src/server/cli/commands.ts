/** The database commands of the CLI: migrate, agent *, stats. Each opens the database, migrates, acts, closes. */
import type { Db } from '../db/db.ts';
import { loadConfig } from '../config.ts';
import { lockDataDir } from '../node/data-dir-lock.ts';
import * as admin from './admin.ts';
import { AGENT_FLAGS, UsageError, agentFields, agentRef, noPositionals, parse } from './args.ts';
import { agentDetails, agentTable, embedSnippet, statsTable } from './output.ts';

type Env = Record<string, string | undefined>;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Opens DATABASE_URL or the PGlite data folder, applies pending migrations, runs `fn`, closes. */
export async function withDb<R>(env: Env, io: Io, command: string, fn: (db: Db, applied: string[]) => Promise<R>): Promise<R> {
  const config = loadConfig(env);
  if (config.supabaseUrl && !config.databaseUrl) {
    throw new Error(
      'SUPABASE_URL is set but the CLI needs a direct database connection: set DATABASE_URL to the ' +
        "project's Postgres connection string (Supabase dashboard → Connect).",
    );
  }
  // Loaded here, not at the top: `--help` and usage errors stay instant.
  const { openDb } = await import('../db/open.ts');
  const { migrate } = await import('../db/migrate.ts');
  // PGlite is single-process: refuse (clearly) while the server or another command has the folder open.
  const release = config.databaseUrl ? () => {} : lockDataDir(config.dataDir, command);
  try {
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pool: { max: 2 } });
    try {
      const { applied } = await migrate(db, { log: (msg) => io.err(msg) });
      return await fn(db, applied);
    } finally {
      await db.close();
    }
  } finally {
    release();
  }
}

function endpointOf(env: Env, values: Record<string, unknown>, cmd: string): string {
  const given = values.endpoint;
  if (typeof given === 'string') {
    if (!/^https?:\/\/[^\s]+$/.test(given)) throw new UsageError(`--endpoint must be an http(s) URL, got "${given}"`, cmd);
    return given;
  }
  return env.PUBLIC_URL || `http://localhost:${env.PORT || 8787}`;
}

function printAgent(io: Io, json: boolean, agent: admin.AgentRow, extra: Record<string, string> = {}): void {
  if (json) io.out(JSON.stringify({ ...agent, ...extra }, null, 2));
  else io.out(agentDetails(agent));
}

export async function migrateCommand(args: string[], env: Env, io: Io): Promise<number> {
  const { values, positionals } = parse('migrate', args, {});
  noPositionals(positionals, 'migrate');
  const { applied } = await withDb(env, io, 'migrate', async (db, applied) => ({ applied, kind: db.kind }));
  if (values.json) io.out(JSON.stringify({ applied }));
  else io.out(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database is up to date');
  return 0;
}

export async function agentCommand(sub: string | undefined, args: string[], env: Env, io: Io): Promise<number> {
  const cmd = `agent ${sub}`;
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(cmd, args, { ...AGENT_FLAGS, endpoint: { type: 'string' } });
      noPositionals(positionals, cmd);
      const { fields, owner } = agentFields(values, cmd);
      if (fields.name === undefined) throw new UsageError('--name is required', cmd);
      const endpoint = endpointOf(env, values, cmd);
      const agent = await withDb(env, io, cmd, (db) => admin.createAgent(db, { ...fields, name: fields.name! }, owner));
      const snippet = embedSnippet(endpoint, agent.api_key);
      if (values.json) printAgent(io, true, agent, { snippet });
      else {
        io.out(`Created agent "${agent.name}" (${agent.id}) owned by ${agent.owner}.\n`);
        io.out(`Widget key: ${agent.api_key}\n`);
        io.out(`Paste this into your page:\n${snippet}`);
      }
      return 0;
    }
    case 'list': {
      const { values, positionals } = parse(cmd, args, {});
      noPositionals(positionals, cmd);
      const agents = await withDb(env, io, cmd, (db) => admin.listAgents(db));
      io.out(values.json ? JSON.stringify(agents, null, 2) : agentTable(agents));
      return 0;
    }
    case 'update': {
      const { values, positionals } = parse(cmd, args, AGENT_FLAGS);
      const ref = agentRef(positionals, cmd);
      const { fields, owner } = agentFields(values, cmd);
      if (Object.keys(fields).length === 0 && owner === undefined) {
        throw new UsageError('nothing to change: give at least one of --name, --instructions, --model, --temperature, …', cmd);
      }
      const agent = await withDb(env, io, cmd, (db) => admin.updateAgent(db, ref, fields, owner));
      printAgent(io, Boolean(values.json), agent);
      return 0;
    }
    case 'rotate-key': {
      const { values, positionals } = parse(cmd, args, { endpoint: { type: 'string' } });
      const ref = agentRef(positionals, cmd);
      const endpoint = endpointOf(env, values, cmd);
      const agent = await withDb(env, io, cmd, (db) => admin.rotateKey(db, ref));
      const snippet = embedSnippet(endpoint, agent.api_key);
      if (values.json) printAgent(io, true, agent, { snippet });
      else io.out(`New key for "${agent.name}": ${agent.api_key}\nThe old key no longer works. Updated snippet:\n${snippet}`);
      return 0;
    }
    case 'disable':
    case 'enable': {
      const { values, positionals } = parse(cmd, args, {});
      const ref = agentRef(positionals, cmd);
      const agent = await withDb(env, io, cmd, (db) => admin.setActive(db, ref, sub === 'enable'));
      if (values.json) printAgent(io, true, agent);
      else io.out(`Agent "${agent.name}" (${agent.id}) is now ${agent.is_active ? 'enabled' : 'disabled'}.`);
      return 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'missing the agent subcommand' : `unknown agent subcommand "${sub}"`, 'agent');
  }
}

export async function statsCommand(args: string[], env: Env, io: Io): Promise<number> {
  const { values, positionals } = parse('stats', args, {});
  noPositionals(positionals, 'stats');
  const rows = await withDb(env, io, 'stats', (db) => admin.agentStatistics(db));
  io.out(values.json ? JSON.stringify(rows, null, 2) : statsTable(rows));
  return 0;
}
