/**
 * Database lints after all migrations: our own catalog queries for what Supabase's database linter
 * (splinter) reports at ERROR or WARN level, plus unindexed foreign keys, and structural rules of this
 * project. Each check lists the offending objects; a clean schema gives none. Runs on real PostgreSQL
 * (what Supabase runs) and on PGlite (what `npm start` embeds).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();

/** The schemas PostgREST exposes in our deployments. */
const API_SCHEMAS = `('public')`;
/** Schemas that belong to PostgreSQL, Supabase or our migration bookkeeping, not to this project's objects. */
const FOREIGN_SCHEMAS = `('pg_catalog', 'information_schema', 'pg_toast', 'auth', 'storage', 'realtime', 'extensions',
  'graphql', 'graphql_public', 'vault', 'pgsodium', 'supabase_functions', 'supabase_migrations', 'net', 'cron')`;

/** Each policy with its table, roles ('public' for PUBLIC), command and deparsed expressions. */
const POLICIES = `
  select n.nspname as schema_name, c.relname as table_name, c.relrowsecurity as rls, p.polname as policy,
         p.polpermissive as permissive,
         case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE'
                       when 'd' then 'DELETE' else 'ALL' end as command,
         array(
           select case when r = 0 then 'public' else pg_get_userbyid(r)::text end from unnest(p.polroles) r
         ) as roles,
         pg_get_expr(p.polqual, p.polrelid) as qual,
         pg_get_expr(p.polwithcheck, p.polrelid) as with_check
  from pg_policy p
  join pg_class c on c.oid = p.polrelid
  join pg_namespace n on n.oid = c.relnamespace
  where n.nspname not in ${FOREIGN_SCHEMAS}`;

interface Lint {
  name: string;
  /** What a failing row means, for the failure message. */
  problem: string;
  /** Returns one row per offending object; zero rows = clean. */
  sql: string;
  /** DDL that breaks the rule, applied in a rolled-back transaction: the lint must then report something. */
  probe: string | { sql: string; pgliteToo: false };
}

const LINTS: Lint[] = [
  {
    name: 'rls_disabled_in_public',
    problem: 'tables the API exposes without row level security',
    sql: `select n.nspname || '.' || c.relname as object
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and n.nspname in ${API_SCHEMAS} and not c.relrowsecurity`,
    probe: `create table public.lint_probe (id int)`,
  },
  {
    name: 'policy_exists_rls_disabled',
    problem: 'policies on tables whose row level security is off (the policies do nothing)',
    sql: `select schema_name || '.' || table_name || ': ' || policy as object from (${POLICIES}) p where not p.rls`,
    probe: `create table public.lint_probe (id int);
             create policy "probe" on public.lint_probe for select to authenticated using (id > 0)`,
  },
  {
    name: 'security_definer_view',
    problem: 'views readable by client roles that run with their owner’s rights (no security_invoker)',
    sql: `select n.nspname || '.' || c.relname as object
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind = 'v' and n.nspname not in ${FOREIGN_SCHEMAS}
            and (has_table_privilege('anon', c.oid, 'select') or has_table_privilege('authenticated', c.oid, 'select'))
            and not coalesce(lower(array_to_string(c.reloptions, ',')) ~ 'security_invoker=(true|on|yes|1)', false)`,
    probe: `create view public.lint_probe as select 1 as x;
             grant select on public.lint_probe to anon`,
  },
  {
    name: 'function_search_path_mutable',
    problem: 'functions whose search_path follows the caller (a caller could shadow the objects they use)',
    sql: `select p.oid::regprocedure::text as object
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname not in ${FOREIGN_SCHEMAS}
            and not exists (select 1 from unnest(p.proconfig) cfg where cfg like 'search\\_path=%')`,
    probe: `create function public.lint_probe() returns int language sql as 'select 1'`,
  },
  {
    name: 'auth_rls_initplan',
    problem: 'policies calling auth.<fn>() or current_setting() per row instead of once through (select …)',
    sql: `select schema_name || '.' || table_name || ': ' || policy as object
          from (${POLICIES}) p, unnest(array[p.qual, p.with_check]) e
          where e is not null
            and regexp_count(e, '(auth\\.(uid|jwt|role|email)|current_setting)\\(')
              > regexp_count(e, 'select\\s+(auth\\.(uid|jwt|role|email)|current_setting)\\(', 1, 'i')`,
    probe: `create policy "probe" on public.agents for update to authenticated using (user_id = auth.uid())`,
  },
  {
    name: 'multiple_permissive_policies',
    problem: 'several permissive policies for one table, role and action (each is evaluated for every row)',
    sql: `select schema_name || '.' || table_name || ' ' || r.role_name || ' ' || a.action || ': '
                 || string_agg(policy, ', ' order by policy) as object
          from (${POLICIES}) p
          cross join lateral unnest(case when p.roles = array['public']::text[] then array['anon', 'authenticated']
                                          else p.roles end) r(role_name)
          cross join lateral unnest(case when p.command = 'ALL' then array['SELECT', 'INSERT', 'UPDATE', 'DELETE']
                                          else array[p.command] end) a(action)
          where p.permissive
          group by schema_name, table_name, r.role_name, a.action
          having count(*) > 1`,
    probe: `create policy "probe" on public.agents for all to authenticated using (user_id = (select auth.uid()))`,
  },
  {
    name: 'rls_policy_always_true',
    problem: 'permissive write policies for client roles whose USING or WITH CHECK lets every row through',
    sql: `select schema_name || '.' || table_name || ': ' || policy as object
          from (
            select p.*,
                   regexp_replace(lower(coalesce(p.qual, '')), '[\\s()]', '', 'g') in ('true', '1=1') as qual_true,
                   regexp_replace(lower(coalesce(p.with_check, '')), '[\\s()]', '', 'g') in ('true', '1=1') as check_true
            from (${POLICIES}) p
          ) p
          where p.rls and p.permissive
            and (p.roles && array['public', 'anon', 'authenticated']::text[])
            and (
              (p.command in ('UPDATE', 'DELETE', 'ALL') and (p.qual is null or p.qual_true))
              or p.check_true
              or (p.command = 'INSERT' and p.with_check is null)
            )`,
    probe: `create policy "probe" on public.messages for update to authenticated using (true)`,
  },
  {
    name: 'anon_security_definer_function_executable',
    problem: 'SECURITY DEFINER functions a visitor (anon) can call',
    sql: `select p.oid::regprocedure::text as object
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where p.prosecdef and n.nspname not in ${FOREIGN_SCHEMAS}
            and has_function_privilege('anon', p.oid, 'execute')`,
    probe: `create function public.lint_probe() returns int language sql security definer set search_path = '' as 'select 1';
             grant execute on function public.lint_probe() to anon`,
  },
  {
    name: 'authenticated_security_definer_function_executable',
    problem: 'SECURITY DEFINER functions a signed-in user (authenticated) can call',
    sql: `select p.oid::regprocedure::text as object
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where p.prosecdef and n.nspname not in ${FOREIGN_SCHEMAS}
            and has_function_privilege('authenticated', p.oid, 'execute')`,
    probe: `create function public.lint_probe() returns int language sql security definer set search_path = '' as 'select 1';
             grant execute on function public.lint_probe() to authenticated`,
  },
  {
    name: 'sensitive_columns_exposed',
    problem: 'secret-like columns (api_key, password, token …) a client role can read without RLS, or under a policy letting every row through',
    sql: `select n.nspname || '.' || c.relname || '.' || a.attname || ' to ' || r.role as object
          from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
          join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          cross join unnest(array['anon', 'authenticated']) r(role)
          where c.relkind in ('r', 'p', 'v', 'm') and n.nspname in ${API_SCHEMAS}
            and lower(a.attname) ~ '(^|_)(api_?key|password|passwd|secret|token|jwt|private_key|credit_card|ssn)($|_)'
            and has_column_privilege(r.role, c.oid, a.attnum, 'select')
            and (
              c.relkind in ('v', 'm') or not c.relrowsecurity
              or exists (
                select 1 from pg_policy pol
                where pol.polrelid = c.oid and pol.polpermissive and pol.polcmd in ('r', '*')
                  and (0::oid = any(pol.polroles) or r.role::regrole::oid = any(pol.polroles))
                  and regexp_replace(lower(coalesce(pg_get_expr(pol.polqual, pol.polrelid), 'true')), '[\\s()]', '', 'g')
                    in ('true', '1=1')
              )
            )`,
    probe: `create policy "probe" on public.agents for select to anon using (true)`,
  },
  {
    name: 'auth_users_exposed',
    problem: 'API views over auth.users that client roles can read',
    sql: `select distinct n.nspname || '.' || c.relname as object
          from pg_depend d
          join pg_rewrite rw on rw.oid = d.objid
          join pg_class c on c.oid = rw.ev_class
          join pg_namespace n on n.oid = c.relnamespace
          where d.refobjid = 'auth.users'::regclass and c.relkind in ('v', 'm') and n.nspname in ${API_SCHEMAS}
            and (has_table_privilege('anon', c.oid, 'select') or has_table_privilege('authenticated', c.oid, 'select'))`,
    probe: `create view public.lint_probe with (security_invoker = true) as select id from auth.users;
             grant select on public.lint_probe to authenticated`,
  },
  {
    name: 'extension_in_public',
    problem: 'extensions installed in the public schema (their objects become API surface)',
    sql: `select e.extname as object from pg_extension e join pg_namespace n on n.oid = e.extnamespace
          where n.nspname = 'public'`,
    // PGlite ships no extension but plpgsql to install: probed on PostgreSQL only
    probe: { sql: 'create extension citext schema public', pgliteToo: false },
  },
  {
    name: 'rls_references_user_metadata',
    problem: 'policies trusting user_metadata, which every user can edit about themselves',
    sql: `select schema_name || '.' || table_name || ': ' || policy as object
          from (${POLICIES}) p
          where coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '') ~* '(user_metadata|raw_user_meta_data)'`,
    probe: `create policy "probe" on public.agents for delete to authenticated
             using ((select nullif(current_setting('request.jwt.claims', true), '')::jsonb -> 'user_metadata' ->> 'admin') = 'yes')`,
  },
  {
    name: 'unindexed_foreign_keys',
    problem: 'foreign keys with no index starting with their columns (slow cascades and joins)',
    sql: `select con.conrelid::regclass::text || ': ' || con.conname as object
          from pg_constraint con join pg_namespace n on n.oid = con.connamespace
          where con.contype = 'f' and n.nspname not in ${FOREIGN_SCHEMAS}
            and not exists (
              select 1 from pg_index i
              where i.indrelid = con.conrelid and i.indisvalid
                and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
                and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey
            )`,
    probe: `create table public.lint_probe (id int, agent_id uuid references public.agents (id))`,
  },
  {
    name: 'duplicate_index',
    problem: 'identical indexes on one table (each costs every write)',
    sql: `select i.indrelid::regclass::text || ': ' || string_agg(i.indexrelid::regclass::text, ', ') as object
          from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
          where n.nspname not in ${FOREIGN_SCHEMAS}
          group by i.indrelid, i.indkey::text, i.indclass::text, i.indcollation::text, i.indoption::text,
                   coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), coalesce(pg_get_expr(i.indpred, i.indrelid), '')
          having count(*) > 1`,
    probe: `create index lint_probe on public.messages (conversation_id, created_at, id)`,
  },
];

/** Stricter rules of this project (DESIGN.md "Data rules"), beyond what the linter asks. */
const STRUCTURE: Lint[] = [
  {
    name: 'row level security on every table of the API schema, views excepted',
    problem: 'public tables (or partitions) without row level security',
    sql: `select c.oid::regclass::text as object from pg_class c
          where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity`,
    probe: `create table public.lint_probe (id int)`,
  },
  {
    name: 'no SECURITY DEFINER function in public at all',
    problem: 'public functions running with their owner’s rights (ours are security invoker, called by the service role)',
    sql: `select p.oid::regprocedure::text as object from pg_proc p
          where p.pronamespace = 'public'::regnamespace and p.prosecdef`,
    probe: `create function public.lint_probe() returns int language sql security definer set search_path = '' as 'select 1';
             revoke execute on function public.lint_probe() from public, anon, authenticated`,
  },
  {
    name: 'no public function callable by anon or authenticated, trigger functions and the owner API reads aside',
    problem: 'public functions that client roles may execute (authenticated: only owner_* reads, which run under RLS)',
    sql: `select p.oid::regprocedure::text || ' by ' || r.role as object
          from pg_proc p cross join unnest(array['anon', 'authenticated']) r(role)
          where p.pronamespace = 'public'::regnamespace and p.prorettype <> 'trigger'::regtype
            and has_function_privilege(r.role, p.oid, 'execute')
            and not (r.role = 'authenticated' and p.proname like 'owner\\_%' and not p.prosecdef)`,
    probe: `create function public.lint_probe() returns int language sql set search_path = '' as 'select 1'`,
  },
  {
    name: 'client roles cannot use the internal schema',
    problem: 'the mistral_agent_chat schema (statistics internals, security definer triggers) usable by a client role',
    sql: `select r.role as object from unnest(array['anon', 'authenticated']) r(role)
          where has_schema_privilege(r.role, 'mistral_agent_chat', 'usage')`,
    probe: `grant usage on schema mistral_agent_chat to authenticated`,
  },
  {
    name: 'every public function pins an empty search_path',
    problem: 'public functions without search_path = \'\' (everything inside must be schema-qualified)',
    sql: `select p.oid::regprocedure::text as object from pg_proc p
          where p.pronamespace = 'public'::regnamespace
            and not coalesce('search_path=""' = any(p.proconfig), false)`,
    probe: `create function public.lint_probe() returns int language sql set search_path = public as 'select 1'`,
  },
  {
    name: 'every public view is security_invoker',
    problem: 'public views that would bypass the row level security of the tables they read',
    sql: `select c.oid::regclass::text as object from pg_class c
          where c.relnamespace = 'public'::regnamespace and c.relkind = 'v'
            and not coalesce('security_invoker=true' = any(c.reloptions), false)`,
    probe: `create view public.lint_probe as select 1 as x;
             revoke all on public.lint_probe from anon, authenticated`,
  },
];

class Rollback {
  constructor(readonly value: string[]) {}
}

/** Runs `fn` in a transaction that is always rolled back, and returns what it returned. */
async function rolledBack(db: Db, fn: (tx: Pick<Db, 'query' | 'exec'>) => Promise<string[]>): Promise<string[]> {
  try {
    await db.transaction(async (tx) => {
      throw new Rollback(await fn(tx));
    });
  } catch (err) {
    if (err instanceof Rollback) return err.value;
    throw err;
  }
  throw new Error('unreachable');
}

function lintSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    before(async () => {
      o = await open();
    });
    after(() => o?.cleanup());

    it('finds the objects the lints inspect (so an empty answer means clean, not blind)', async () => {
      const { rows } = await o.db.query<{ tables: number; policies: number; functions: number; views: number; fks: number }>(
        `select (select count(*)::int from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r') as tables,
                (select count(*)::int from pg_policy p join pg_class c on c.oid = p.polrelid
                  where c.relnamespace = 'public'::regnamespace) as policies,
                (select count(*)::int from pg_proc where pronamespace = 'public'::regnamespace) as functions,
                (select count(*)::int from pg_class where relnamespace = 'public'::regnamespace and relkind = 'v') as views,
                (select count(*)::int from pg_constraint where connamespace = 'public'::regnamespace and contype = 'f') as fks`,
      );
      const c = rows[0]!;
      assert.ok(c.tables >= 5 && c.policies >= 7 && c.functions >= 7 && c.views >= 1 && c.fks >= 3, JSON.stringify(c));
    });

    for (const lint of [...LINTS, ...STRUCTURE]) {
      it(`${lint.name}: none`, async () => {
        const { rows } = await o.db.query<{ object: string }>(lint.sql);
        const found = rows.map((r) => r.object);
        assert.deepEqual(found, [], `${lint.problem}:\n  ${found.join('\n  ')}`);

        const probe = typeof lint.probe === 'string' ? lint.probe : o.db.kind === 'postgres' ? lint.probe.sql : null;
        if (probe !== null) {
          const caught = await rolledBack(o.db, async (tx) => {
            await tx.exec(probe);
            return (await tx.query<{ object: string }>(lint.sql)).rows.map((r) => r.object);
          });
          assert.ok(caught.length > 0, `the lint sees the violation of: ${probe}`);
        }
      });
    }
  });
}

lintSuite(
  'database lints on PostgreSQL',
  () => migratedTestDatabase(),
  pgSkipReason,
);

lintSuite('database lints on PGlite', migratedPgliteDb);
