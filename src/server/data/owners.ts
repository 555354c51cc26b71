/**
 * Owners (rows of `auth.users`) as the command line manages them. These read and write the `auth` schema,
 * which only the database owner may do (on Supabase, Supabase Auth owns those rows): never run them as an
 * owner (`asOwner`).
 */
import bcrypt from 'bcryptjs';
import type { Db } from '../db/db.ts';
import type { Executor } from './agents.ts';

/** The owner of agents made without `--owner` (and of the demo agent). */
export const DEFAULT_OWNER = 'demo@localhost';

/** The auth.users id for this email, creating the user when missing. */
export async function ensureOwner(q: Executor, email: string): Promise<string> {
  // Case-insensitive, as `owner create` keeps emails lower-case: one owner per address.
  const found = await q.query<{ id: string }>('select id from auth.users where lower(email) = lower($1) order by created_at limit 1', [email]);
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

// ---------------------------------------------------------------------------------------------------
// Owner accounts for local sign-in (`mistral-agent-chat owner …`; the console's POST /v1/owner/token).

/** An owner as `owner list` shows it. */
export interface OwnerAccount {
  id: string;
  email: string;
  created_at: string;
  /** Agents this owner has (deleting the owner deletes them, with their conversations). */
  agents: number;
  /** False when the owner cannot sign in locally yet (no password set). */
  has_password: boolean;
}

/** What deleting an owner took with it (foreign keys of 00001 cascade: agents → conversations → messages). */
export interface OwnerFootprint {
  agents: number;
  conversations: number;
  messages: number;
}

/** A bad email or password (the CLI turns it into a usage error naming the flag). */
export class OwnerInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OwnerInputError';
  }
}

/** An owner with this email already exists, or none does. */
export class OwnerExistsError extends Error {
  constructor(email: string) {
    super(`an owner with the email ${email} already exists (change their password with: mistral-agent-chat owner reset-password --email ${email})`);
    this.name = 'OwnerExistsError';
  }
}
export class OwnerNotFoundError extends Error {
  constructor(email: string) {
    super(`no owner with the email ${email} (see: mistral-agent-chat owner list)`);
    this.name = 'OwnerNotFoundError';
  }
}

export const PASSWORD_MIN_LENGTH = 8;
/** bcrypt reads only the first 72 bytes: a longer password would sign in with any suffix. */
export const PASSWORD_MAX_BYTES = 72;
const BCRYPT_COST = 10;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** Emails are kept trimmed and lower-case, as Supabase Auth keeps them (sign-in compares them the same way). */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 255) throw new OwnerInputError(`"${raw}" is not an email address`);
  return email;
}

/** Why a password is refused, or null when it is fine. */
export function passwordProblem(password: string): string | null {
  if ([...password].length < PASSWORD_MIN_LENGTH) return `the password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (new TextEncoder().encode(password).length > PASSWORD_MAX_BYTES) {
    return `the password must be at most ${PASSWORD_MAX_BYTES} bytes (bcrypt ignores the rest)`;
  }
  if (password.includes('\u0000')) return 'the password must not contain a NUL character';
  return null;
}

/** A strong password to print once: 24 characters of base64url (144 random bits). */
export function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * bcrypt, cost 10, in the form Supabase Auth writes (`$2a$10$…`, Go's bcrypt): a database moved to Supabase
 * keeps its logins. bcryptjs writes `$2b$`; for passwords of at most 72 bytes both hash the same.
 */
export async function hashPassword(password: string): Promise<string> {
  const problem = passwordProblem(password);
  if (problem) throw new OwnerInputError(problem);
  const salt = bcrypt.genSaltSync(BCRYPT_COST).replace(/^\$2b\$/, '$2a$');
  return bcrypt.hash(password, salt);
}

/**
 * On Supabase, auth.users belongs to Supabase Auth (identities, confirmations): a row written here would not
 * sign in there. Owners of a Supabase project are made in its dashboard instead.
 */
async function refuseOnSupabase(q: Executor): Promise<void> {
  const { rows } = await q.query<{ supabase: boolean }>("select to_regclass('auth.identities') is not null as supabase");
  if (rows[0]?.supabase) {
    throw new OwnerInputError(
      'this database is a Supabase project: its owners sign in with Supabase Auth. Add them in the dashboard ' +
        '(Authentication → Users → Add user) or with supabase.auth.admin.createUser().',
    );
  }
}

async function ownerId(q: Executor, email: string): Promise<string | null> {
  const { rows } = await q.query<{ id: string }>('select id::text as id from auth.users where lower(email) = $1 order by created_at limit 1', [email]);
  return rows[0]?.id ?? null;
}

/**
 * Makes an owner who can sign in to the console. An existing row without a password (the demo owner, or an
 * owner `agent create --owner` made) gets the password; one with a password is an OwnerExistsError.
 */
export async function createOwner(q: Executor, rawEmail: string, password: string): Promise<{ id: string; email: string; existed: boolean }> {
  const email = normalizeEmail(rawEmail);
  const hash = await hashPassword(password);
  await refuseOnSupabase(q);
  const { rows } = await q.query<{ id: string; encrypted_password: string | null }>(
    'select id::text as id, encrypted_password from auth.users where lower(email) = $1 order by created_at limit 1 for update',
    [email],
  );
  const found = rows[0];
  if (found?.encrypted_password) throw new OwnerExistsError(email);
  if (found) {
    await q.query('update auth.users set encrypted_password = $2 where id = $1::uuid', [found.id, hash]);
    return { id: found.id, email, existed: true };
  }
  const made = await q.query<{ id: string }>(
    'insert into auth.users (id, email, encrypted_password) values (gen_random_uuid(), $1, $2) returning id::text as id',
    [email, hash],
  );
  return { id: made.rows[0]!.id, email, existed: false };
}

/** Every owner, oldest first, with how many agents each has. */
export async function listOwners(q: Executor): Promise<OwnerAccount[]> {
  const { rows } = await q.query<OwnerAccount & { agents: string | number }>(
    `select u.id::text as id, u.email,
            to_char(u.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as created_at,
            (select count(*) from public.agents a where a.user_id = u.id) as agents,
            u.encrypted_password is not null and u.encrypted_password <> '' as has_password
     from auth.users u
     order by u.created_at, u.id`,
  );
  return rows.map((r) => ({ ...r, agents: Number(r.agents) }));
}

/** Sets a new password for an existing owner. */
export async function resetOwnerPassword(q: Executor, rawEmail: string, password: string): Promise<{ id: string; email: string }> {
  const email = normalizeEmail(rawEmail);
  const hash = await hashPassword(password);
  await refuseOnSupabase(q);
  const { rows } = await q.query<{ id: string }>('update auth.users set encrypted_password = $2 where lower(email) = $1 returning id::text as id', [email, hash]);
  if (!rows[0]) throw new OwnerNotFoundError(email);
  return { id: rows[0].id, email };
}

/** What deleting this owner would delete with it; throws OwnerNotFoundError when there is no such owner. */
export async function ownerFootprint(q: Executor, rawEmail: string): Promise<OwnerFootprint & { id: string; email: string }> {
  const email = normalizeEmail(rawEmail);
  const id = await ownerId(q, email);
  if (!id) throw new OwnerNotFoundError(email);
  // Exact counts from the rows themselves: this runs once, before a delete a person confirms.
  const { rows } = await q.query<{ agents: string | number; conversations: string | number; messages: string | number }>(
    `select (select count(*) from public.agents a where a.user_id = $1::uuid) as agents,
            (select count(*) from public.conversations c join public.agents a on a.id = c.agent_id where a.user_id = $1::uuid) as conversations,
            (select count(*) from public.messages m join public.conversations c on c.id = m.conversation_id
               join public.agents a on a.id = c.agent_id where a.user_id = $1::uuid) as messages`,
    [id],
  );
  const r = rows[0]!;
  return { id, email, agents: Number(r.agents), conversations: Number(r.conversations), messages: Number(r.messages) };
}

/** Deletes the owner; their agents, conversations and messages go with them (ON DELETE CASCADE). */
export async function deleteOwner(q: Executor, id: string): Promise<void> {
  const { rows } = await q.query('delete from auth.users where id = $1::uuid returning id', [id]);
  if (!rows[0]) throw new OwnerNotFoundError(id);
}

/** Whether this database keeps local passwords at all (migration 00008 adds the column where missing). */
async function hasPasswordColumn(q: Executor): Promise<boolean> {
  // pg_attribute, not information_schema: the latter hides columns the current role has no rights on.
  const { rows } = await q.query(
    "select 1 from pg_catalog.pg_attribute where attrelid = to_regclass('auth.users') and attname = 'encrypted_password' and not attisdropped",
  );
  return rows.length > 0;
}

/** Whether some owner can sign in to the console locally; null when this database keeps no passwords. */
export async function anyOwnerCanSignIn(q: Executor): Promise<boolean | null> {
  if (!(await hasPasswordColumn(q))) return null;
  const { rows } = await q.query("select 1 from auth.users where encrypted_password is not null and encrypted_password <> '' limit 1");
  return rows.length > 0;
}

/**
 * Demo mode only (the caller decides): while no owner has a password, gives the demo owner a generated one so
 * a newcomer can open /console at once. Resolves to it (to print once), or null when some owner can already
 * sign in, there is no demo owner, or the database keeps no passwords.
 */
export async function giveDemoOwnerPassword(db: Pick<Db, 'transaction'>): Promise<{ email: string; password: string } | null> {
  return db.transaction(async (tx) => {
    // Several servers starting on one database: one of them gives the password, the others see it set.
    await tx.query("select pg_advisory_xact_lock(hashtext('mistral-agent-chat:demo-owner-password'))");
    if ((await anyOwnerCanSignIn(tx)) !== false) return null;
    const id = await ownerId(tx, DEFAULT_OWNER);
    if (!id) return null;
    const password = generatePassword();
    await tx.query('update auth.users set encrypted_password = $2 where id = $1::uuid', [id, await hashPassword(password)]);
    return { email: DEFAULT_OWNER, password };
  });
}
