/**
 * Owners (rows of `auth.users`) as the command line manages them. These read and write the `auth` schema,
 * which only the database owner may do (on Supabase, Supabase Auth owns those rows): never run them as an
 * owner (`asOwner`).
 */
import type { Executor } from './agents.ts';

/** The owner of agents made without `--owner` (and of the demo agent). */
export const DEFAULT_OWNER = 'demo@localhost';

/** The auth.users id for this email, creating the user when missing. */
export async function ensureOwner(q: Executor, email: string): Promise<string> {
  const found = await q.query<{ id: string }>('select id from auth.users where email = $1 order by created_at limit 1', [email]);
  if (found.rows[0]) return found.rows[0].id;
  const made = await q.query<{ id: string }>('insert into auth.users (id, email) values (gen_random_uuid(), $1) returning id', [email]);
  return made.rows[0]!.id;
}

/** The email of each of these owners (ids without a user, or without an email, are left out). */
export async function ownerEmails(q: Executor, userIds: readonly string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; email: string }>(
    'select id::text as id, email from auth.users where id = any($1::uuid[]) and email is not null',
    [[...new Set(userIds)]],
  );
  return new Map(rows.map((r) => [r.id, r.email]));
}
