/** Migrated PGlite databases for tests, plus direct-SQL seeding of owners and agents. */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPglite } from '../../src/server/db/pglite.ts';
import type { MigratedDb } from './pg.ts';

let snapshot: Promise<Blob> | undefined;

/** A fresh, migrated in-memory PGlite: migrations run once per process, then a snapshot loads (~0.6 s). */
export async function migratedPglite(): Promise<Db> {
  snapshot ??= (async () => {
    const db = await openPglite();
    try {
      await migrate(db);
      return await db.dump();
    } finally {
      await db.close();
    }
  })();
  return openPglite({ loadDataDir: await snapshot });
}

/** migratedPglite() in the shape the real-PostgreSQL suites use (see migratedTestDatabase). */
export async function migratedPgliteDb(): Promise<MigratedDb> {
  const db = await migratedPglite();
  return { db, cleanup: () => db.close() };
}

/** A widget key as the CLI makes them: `mac_` + 32 random bytes, base64url. */
export function newApiKey(): string {
  return `mac_${randomBytes(32).toString('base64url')}`;
}

export interface SeedAgentOptions {
  /** Owner's email: reused when the owner exists. Default: a unique one. */
  ownerEmail?: string;
  name?: string;
  role?: string;
  instructions?: string | null;
  model?: string;
  temperature?: number | null;
  maxTokens?: number | null;
  topP?: number | null;
  isActive?: boolean;
  apiKey?: string;
}

export interface SeededAgent {
  agentId: string;
  apiKey: string;
  ownerId: string;
}

/** Inserts an owner (auth.users) and an agent with plain SQL; works on any migrated Db (PGlite or pg). */
export async function seedAgent(db: Pick<Db, 'query'>, opts: SeedAgentOptions = {}): Promise<SeededAgent> {
  const email = opts.ownerEmail ?? `owner-${randomBytes(6).toString('hex')}@example.test`;
  const apiKey = opts.apiKey ?? newApiKey();
  const owner = await db.query<{ id: string }>(
    `insert into auth.users (email) values ($1)
     on conflict (email) do update set email = excluded.email returning id`,
    [email],
  );
  const ownerId = owner.rows[0]!.id;
  const agent = await db.query<{ id: string }>(
    `insert into public.agents (user_id, name, role, instructions, model, temperature, max_tokens, top_p, api_key, is_active)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id`,
    [
      ownerId,
      opts.name ?? 'Test agent',
      opts.role ?? 'assistant',
      opts.instructions === undefined ? 'You are a helpful test agent.' : opts.instructions,
      opts.model ?? 'mistral-small-latest',
      opts.temperature === undefined ? 0.7 : opts.temperature,
      opts.maxTokens === undefined ? 1024 : opts.maxTokens,
      opts.topP === undefined ? 1 : opts.topP,
      apiKey,
      opts.isActive ?? true,
    ],
  );
  return { agentId: agent.rows[0]!.id, apiKey, ownerId };
}
