/**
 * Runs SQL as a Supabase client role would (anon, or authenticated with a JWT `sub`) or as the proxy
 * (service_role): `set local role` and `request.jwt.claims` in one transaction, the way the owner API runs
 * an owner's queries. Works on PGlite and PostgreSQL.
 */
import type { Db } from '../../src/server/db/db.ts';

export type Tx = Pick<Db, 'query' | 'exec'>;
export type Who = { role: 'anon' } | { role: 'service_role' } | { role: 'authenticated'; sub: string };

class Rollback<T> {
  constructor(readonly value: T) {}
}

async function run<T>(db: Db, who: Who, fn: (tx: Tx) => Promise<T>, keep: boolean): Promise<T> {
  const inside = async (tx: Tx) => {
    if (who.role === 'authenticated') {
      await tx.query("select set_config('request.jwt.claims', $1, true)", [
        JSON.stringify({ sub: who.sub, role: 'authenticated' }),
      ]);
    }
    await tx.exec(`set local role ${who.role}`);
    return fn(tx);
  };
  if (keep) return db.transaction(inside);
  try {
    await db.transaction(async (tx) => {
      throw new Rollback(await inside(tx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw err;
  }
  throw new Error('unreachable');
}

/** Runs `fn` as `who` in a transaction that is always rolled back. */
export function as<T>(db: Db, who: Who, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return run(db, who, fn, false);
}

/** Runs `fn` as `who` in a transaction that commits. */
export function asCommitted<T>(db: Db, who: Who, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return run(db, who, fn, true);
}

/** The owner's view: authenticated with `sub` = the owner's id. */
export const owner = (sub: string): Who => ({ role: 'authenticated', sub });
