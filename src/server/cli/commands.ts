/** The database commands of the CLI: migrate, agent *, stats, maintenance, visitor erase. Each opens the database, migrates, acts, closes. */
import type { Db } from '../db/db.ts';
import { loadConfig } from '../config.ts';
import * as agents from '../data/agents.ts';
import { runMaintenance } from '../data/maintenance.ts';
import { DEFAULT_OWNER, ensureOwner, ownerEmails } from '../data/owners.ts';
import { agentStatistics } from '../data/statistics.ts';
import { eraseVisitor } from '../data/visitors.ts';
import { embedSnippet, endpointFor, endpointNote, type Endpoint } from '../embed.ts';
import { generateIdentitySecret } from '../keys.ts';
import { lockDataDir } from '../node/data-dir-lock.ts';
import { AGENT_FLAGS, IDENTITY_SECRET_FLAGS, UsageError, agentFields, agentRef, noPositionals, parse, positiveInt } from './args.ts';
import { agentDetails, agentTable, statsTable, type AgentRow } from './output.ts';

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

/** The snippet's endpoint: --endpoint, else PUBLIC_URL, else this machine's address or a placeholder (embed.ts). */
function endpointOf(env: Env, values: Record<string, unknown>, cmd: string): Endpoint {
  const given = values.endpoint;
  if (typeof given === 'string') {
    if (!/^https?:\/\/[^\s]+$/.test(given)) throw new UsageError(`--endpoint must be an http(s) URL, got "${given}"`, cmd);
    return { url: given.replace(/\/+$/, ''), source: 'public' };
  }
  const config = loadConfig(env);
  return endpointFor(env, { port: config.port, embedded: !config.databaseUrl });
}

/** The agents with their owners' emails, as the CLI prints them. */
async function withOwners(db: Pick<Db, 'query'>, list: agents.Agent[]): Promise<AgentRow[]> {
  const emails = await ownerEmails(db, list.map((a) => a.user_id));
  return list.map((a) => ({ ...a, owner: emails.get(a.user_id) ?? null }));
}

function printAgent(io: Io, json: boolean, agent: AgentRow, extra: Record<string, string> = {}): void {
  if (json) io.out(JSON.stringify({ ...agent, ...extra }, null, 2));
  else io.out(agentDetails(agent));
}

/** The snippet for a key, and the note that says where its endpoint came from (JSON: both as fields). */
function snippetFor(endpoint: Endpoint, key: string): { snippet: string; endpoint: string; note: string } {
  return { snippet: embedSnippet(endpoint.url, key), endpoint: endpoint.url, note: endpointNote(endpoint) };
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
      const agent = await withDb(env, io, cmd, (db) =>
        db.transaction(async (tx) => {
          const userId = await ensureOwner(tx, owner ?? DEFAULT_OWNER);
          const made = await agents.createAgent(tx, { ...fields, name: fields.name! }, { userId });
          return (await withOwners(tx, [made]))[0]!;
        }),
      );
      const { snippet, note } = snippetFor(endpoint, agent.api_key);
      if (values.json) printAgent(io, true, agent, { snippet, endpoint: endpoint.url, ...(note ? { endpoint_note: note } : {}) });
      else {
        io.out(`Created agent "${agent.name}" (${agent.id}) owned by ${agent.owner}.\n`);
        io.out(`Widget key: ${agent.api_key}\n`);
        io.out(`Paste this into your page:\n${snippet}`);
        if (note) io.out(`\nNote: ${note}`);
      }
      return 0;
    }
    case 'list': {
      const { values, positionals } = parse(cmd, args, {});
      noPositionals(positionals, cmd);
      const list = await withDb(env, io, cmd, async (db) => withOwners(db, await agents.listAgents(db)));
      io.out(values.json ? JSON.stringify(list, null, 2) : agentTable(list));
      return 0;
    }
    case 'update': {
      const { values, positionals } = parse(cmd, args, { ...AGENT_FLAGS, ...IDENTITY_SECRET_FLAGS });
      const ref = agentRef(positionals, cmd);
      const { fields, owner } = agentFields(values, cmd);
      if (values['identity-secret'] && values['no-identity-secret']) {
        throw new UsageError('--identity-secret and --no-identity-secret contradict each other: give one', cmd);
      }
      // A new secret is made here and printed once: it is never shown again (the owner API shows has_identity_secret).
      const secret = values['identity-secret'] ? generateIdentitySecret() : values['no-identity-secret'] ? null : undefined;
      if (Object.keys(fields).length === 0 && owner === undefined && secret === undefined) {
        throw new UsageError('nothing to change: give at least one of --name, --instructions, --model, --temperature, …', cmd);
      }
      const agent = await withDb(env, io, cmd, (db) =>
        db.transaction(async (tx) => {
          const opts = owner === undefined ? {} : { userId: await ensureOwner(tx, owner) };
          let updated = await agents.updateAgent(tx, ref, fields, opts);
          if (secret !== undefined) updated = await agents.setIdentitySecret(tx, ref, secret);
          return (await withOwners(tx, [updated]))[0]!;
        }),
      );
      if (values.json) printAgent(io, true, agent, secret ? { identity_secret: secret } : {});
      else {
        printAgent(io, false, agent);
        if (secret) {
          io.out(
            `\nNew identity secret (shown once; keep it on your site's backend only, never in a page):\n${secret}\n` +
              'Visitor tokens signed with the previous secret are refused from now on (within seconds).',
          );
        } else if (secret === null) io.out('\nIdentity secret removed: visitor tokens are refused until a new one is made.');
        if (agent.identity_required && !agent.has_identity_secret) {
          io.err('Warning: identity is required but the agent has no identity secret: every visitor is refused.');
        }
      }
      return 0;
    }
    case 'rotate-key': {
      const { values, positionals } = parse(cmd, args, { endpoint: { type: 'string' } });
      const ref = agentRef(positionals, cmd);
      const endpoint = endpointOf(env, values, cmd);
      const agent = await withDb(env, io, cmd, async (db) => (await withOwners(db, [await agents.rotateKey(db, ref)]))[0]!);
      const { snippet, note } = snippetFor(endpoint, agent.api_key);
      if (values.json) printAgent(io, true, agent, { snippet, endpoint: endpoint.url, ...(note ? { endpoint_note: note } : {}) });
      else {
        io.out(`New key for "${agent.name}": ${agent.api_key}\nThe old key no longer works. Updated snippet:\n${snippet}`);
        if (note) io.out(`\nNote: ${note}`);
      }
      return 0;
    }
    case 'disable':
    case 'enable': {
      const { values, positionals } = parse(cmd, args, {});
      const ref = agentRef(positionals, cmd);
      const agent = await withDb(env, io, cmd, async (db) => (await withOwners(db, [await agents.setActive(db, ref, sub === 'enable')]))[0]!);
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
  const rows = await withDb(env, io, 'stats', (db) => agentStatistics(db));
  io.out(values.json ? JSON.stringify(rows, null, 2) : statsTable(rows));
  return 0;
}

/** `maintenance`: one full pass of the scheduled maintenance now (for an external scheduler, or by hand). */
export async function maintenanceCommand(args: string[], env: Env, io: Io): Promise<number> {
  const { values, positionals } = parse('maintenance', args, { 'batch-size': { type: 'string' } });
  noPositionals(positionals, 'maintenance');
  const batchSize = positiveInt(values, 'batch-size', 'maintenance') ?? 5000;
  const result = await withDb(env, io, 'maintenance', (db) => runMaintenance(db, batchSize, { untilDone: true }));
  if (values.json) io.out(JSON.stringify(result));
  else if (result.skipped) io.out('another instance is running the maintenance right now: nothing done');
  else {
    const parts = Object.entries(result.removed).map(([task, n]) => `${task}: ${n}`);
    io.out(`maintenance done in ${result.batches} batch(es): ${parts.join(', ') || 'nothing to do'}`);
  }
  return 0;
}

/** `visitor erase --agent <id|key> --visitor-id V`: one visitor's conversations with one agent, deleted (erasure on request). */
export async function visitorCommand(sub: string | undefined, args: string[], env: Env, io: Io): Promise<number> {
  if (sub !== 'erase') throw new UsageError(sub === undefined ? 'missing the visitor subcommand' : `unknown visitor subcommand "${sub}"`, 'visitor');
  const cmd = 'visitor erase';
  const { values, positionals } = parse(cmd, args, { agent: { type: 'string' }, 'visitor-id': { type: 'string' } });
  noPositionals(positionals, cmd);
  const ref = agentRef(typeof values.agent === 'string' ? [values.agent] : [], cmd);
  const visitorId = values['visitor-id'];
  if (typeof visitorId !== 'string' || visitorId === '') throw new UsageError('missing --visitor-id: the visitor_id the widget stored', cmd);
  const { agent, erased } = await withDb(env, io, cmd, async (db) => {
    const agent = await agents.getAgent(db, ref);
    return { agent, erased: await eraseVisitor(db, agent.id, visitorId) };
  });
  if (values.json) io.out(JSON.stringify({ agent_id: agent.id, visitor_id: visitorId, conversations_erased: erased }));
  else if (erased === 0) io.out(`Agent "${agent.name}" has no conversation with visitor ${visitorId}: nothing to erase.`);
  else io.out(`Erased ${erased} conversation(s) of visitor ${visitorId} with agent "${agent.name}", their messages and ratings.`);
  return 0;
}
