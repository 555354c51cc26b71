/**
 * Runs data operations as one owner, the way Supabase's PostgREST runs a signed-in user's request: one
 * transaction with `set local role authenticated` and `request.jwt.claims`, so the seed's row level
 * security policies decide what the owner sees and changes. The owner API (pg and PGlite) wraps each
 * request in this; the CLI runs the same operations as the database owner instead.
 */
import type { Db } from '../db/db.ts';
import type { Executor } from './agents.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function asOwner<R>(db: Db, userId: string, fn: (q: Executor) => Promise<R>, claims: Record<string, unknown> = {}): Promise<R> {
  // The id goes into a JSON value, never into SQL text; still, only a uuid is an owner.
  if (!UUID.test(userId)) throw new TypeError('asOwner: the owner id must be a uuid');
  return db.transaction(async (tx) => {
    await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ ...claims, sub: userId, role: 'authenticated' })]);
    await tx.query('set local role authenticated');
    return fn(tx);
  });
}
