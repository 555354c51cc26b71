/**
 * Applies supabase/migrations/*.sql in order and records them like the Supabase CLI does
 * (supabase_migrations.schema_migrations), so a database migrated here can later be managed with
 * `supabase db push` and vice versa. Off Supabase it first creates the minimal `auth` schema and roles
 * the migrations expect. Node-only (reads the migration files).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

/** The repository's (and the npm package's) supabase/migrations folder. */
export const migrationsDir = fileURLToPath(new URL('../../../supabase/migrations/', import.meta.url));

export interface Migration {
  /** Numeric prefix of the file name ("00001"), the CLI's version. */
  version: string;
  /** The rest of the file name without ".sql" ("initial_schema"). */
  name: string;
  path: string;
}

export interface MigrateOptions {
  dir?: string;
  log?: (msg: string) => void;
}

/** Migration files of `dir`, in the order they apply. */
export async function listMigrations(dir: string = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return files.map((file) => {
    const [, version = '', name = ''] = /^(\d+)_(.+)\.sql$/.exec(file) ?? [];
    return { version, name, path: join(dir, file) };
  });
}

// Taken at the start of every migration transaction: concurrent migrate() calls on one database apply
// each file once, one after the other (transaction-scoped, so it also works through a pooler).
const LOCK = "select pg_advisory_xact_lock(hashtext('mistral-agent-chat:migrate'))";

// Roles are cluster-wide and other databases may create them at the same moment: tolerate both errors.
const role = (name: string, attrs: string) =>
  `do $$ begin create role ${name} ${attrs}; exception when duplicate_object or unique_violation then null; end $$;`;

/** Minimal stand-in for what Supabase provides; only created where the `auth` schema is missing. */
export const AUTH_BOOTSTRAP_SQL = `
${role('anon', 'nologin noinherit')}
${role('authenticated', 'nologin noinherit')}
${role('service_role', 'nologin noinherit bypassrls')}
create schema if not exists auth;
create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  created_at timestamptz default now(),
  raw_user_meta_data jsonb
);
-- null when claims are unset or '' (a pooled connection keeps a reset setting as '')
create or replace function auth.uid() returns uuid language sql stable as $$
  select nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid
$$;
create or replace function auth.role() returns text language sql stable as $$
  select nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role', '')::text
$$;
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
`;

const HISTORY_TABLE_SQL = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
`;

/** Applies pending migrations; returns the versions this call applied (none when up to date). */
export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  const migrations = await listMigrations(opts.dir ?? migrationsDir);

  await db.transaction(async (tx) => {
    await tx.query(LOCK);
    const { rows } = await tx.query<{ present: boolean }>(
      "select exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') as present",
    );
    if (!rows[0]?.present) {
      log('creating a minimal Supabase-compatible auth schema and roles');
      await tx.exec(AUTH_BOOTSTRAP_SQL);
    }
    await tx.exec(HISTORY_TABLE_SQL);
  });

  const applied: string[] = [];
  for (const m of migrations) {
    const sql = await readFile(m.path, 'utf8');
    const done = await db.transaction(async (tx) => {
      await tx.query(LOCK);
      const { rows } = await tx.query('select 1 from supabase_migrations.schema_migrations where version = $1', [
        m.version,
      ]);
      if (rows.length > 0) return false;
      await tx.exec(sql);
      await tx.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [
        m.version,
        m.name,
        splitStatements(sql),
      ]);
      return true;
    });
    if (done) {
      log(`applied migration ${m.version}_${m.name}`);
      applied.push(m.version);
    }
  }
  return { applied };
}

/**
 * True when `s` holds nothing but comments and whitespace. A loop, not a regular expression: the obvious
 * pattern backtracks exponentially on a long comment block followed by a statement (a 30-line header hung).
 */
function onlyComments(s: string): boolean {
  let i = 0;
  while (i < s.length) {
    if (/\s/.test(s[i]!)) i++;
    else if (s.startsWith('--', i)) {
      const nl = s.indexOf('\n', i);
      i = nl === -1 ? s.length : nl + 1;
    } else if (s.startsWith('/*', i)) {
      const end = s.indexOf('*/', i + 2);
      i = end === -1 ? s.length : end + 2;
    } else return false;
  }
  return true;
}

/**
 * Splits a script into statements at top-level semicolons (outside quotes, dollar quotes and comments),
 * as the Supabase CLI records them.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const s = sql.slice(start, end).trim();
    if (s && !onlyComments(s)) out.push(s);
  };
  while (i < sql.length) {
    const ch = sql[i];
    const rest = sql.slice(i, i + 2);
    if (rest === '--') {
      const nl = sql.indexOf('\n', i);
      i = nl === -1 ? sql.length : nl + 1;
    } else if (rest === '/*') {
      const endC = sql.indexOf('*/', i + 2);
      i = endC === -1 ? sql.length : endC + 2;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === ch && sql[j + 1] !== ch)) j += sql[j] === ch ? 2 : 1;
      i = j + 1;
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const endT = sql.indexOf(tag, i + tag.length);
        i = endT === -1 ? sql.length : endT + tag.length;
      } else i++;
    } else if (ch === ';') {
      push(i + 1);
      start = ++i;
    } else i++;
  }
  push(sql.length);
  return out;
}
