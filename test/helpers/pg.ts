/**
 * Real PostgreSQL for tests: one uniquely named database per suite, dropped after.
 * Server: TEST_DATABASE_URL (or the older TEST_PG_URL; default postgres://postgres@127.0.0.1:5432/postgres,
 * trust auth). When none answers, suites skip outside CI and fail the run under CI=true (scripts/services.js).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { serviceSkip } from '../../scripts/services.js';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres, type PostgresDb } from '../../src/server/db/postgres.ts';

export const adminUrl = process.env.TEST_DATABASE_URL || process.env.TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why real-PostgreSQL suites skip; shown by the test runner and counted in `npm test`'s summary. */
export const pgSkipReason = `nothing answers at ${adminUrl.replace(/\/\/[^@]*@/, '//')} (start PostgreSQL, or set TEST_DATABASE_URL)`;

let available: Promise<boolean> | undefined;

/** Whether the test server answers (checked once per process). */
export function pgAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return available;
}

/**
 * For `describe(name, { skip: await pgSkip() }, …)`: false when reachable, else the reason to skip; under
 * CI=true it throws instead, so the test file fails.
 */
export async function pgSkip(): Promise<string | false> {
  return serviceSkip('PostgreSQL', await pgAvailable(), pgSkipReason);
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh empty database (from template0, so concurrent creations never wait on template1). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mac_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database "${name}" template template0`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

/** A migrated database for one suite, and the one call that closes (and, on a server, drops) it. */
export interface MigratedDb {
  db: Db;
  cleanup(): Promise<void>;
}

/** A fresh database with every migration applied, its Db (a `pg` pool), and one call that closes and drops both. */
export async function migratedTestDatabase(opts: { max?: number } = {}): Promise<MigratedDb & { db: PostgresDb; url: string }> {
  const test = await createTestDatabase();
  const db = openPostgres(test.url, opts);
  const cleanup = async () => {
    await db.close();
    await test.drop();
  };
  try {
    await migrate(db);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { db, url: test.url, cleanup };
}
