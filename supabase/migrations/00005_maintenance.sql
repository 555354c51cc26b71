-- Migration: 00005_maintenance
-- Purpose: maintenance off the visitor's path. 00004 took the occasional cleanup out of begin_turn (it ran
-- sequential scans inside about one turn in 500); this migration gives it a home that runs on a schedule,
-- in batches, through indexes:
--   * public.maintenance_tasks: the list of named tasks, one row each. A task is a function
--     `public.<name>(batch_size integer) returns integer` that removes at most batch_size rows and says how
--     many it removed. A later migration registers its own with one line, e.g.
--       insert into public.maintenance_tasks (name, function_name)
--       values ('expired_conversations', 'public.purge_expired_conversations');
--   * two tasks of our own: prune_rate_limits (rate-limit buckets idle for over an hour: no limit reads them
--     any more) and prune_token_usage (token counters older than 400 days, see below);
--   * public.run_maintenance(batch_size): one batch of every task, one caller at a time across all servers
--     (a transaction-scoped advisory lock, so it also works through a transaction pooler); a failing task
--     is reported and does not stop the others. The Node server calls it from a timer, in a loop while a
--     task still fills its batch; on Supabase, pg_cron calls it every minute (below);
--   * agent_token_usage.agent_id now references agents (on delete cascade): a deleted agent's counters go
--     with it, instead of waiting for a cleanup.
-- Retention of agent_token_usage: 400 days. The daily token budget reads only today's rows; owners'
-- dashboards show at most a year of days (and compare it with the same days a year before through the
-- daily series, not these counters); 400 days covers a full year plus a month of margin. The counters are
-- 16 small rows per agent and day, so keeping them longer costs little, but not forever.
-- pg_cron: where the extension is installed when this migration runs (Supabase: Integrations → Cron), the
-- job `mistral-agent-chat-maintenance` is scheduled here. Without it, schedule later with
--   select cron.schedule('mistral-agent-chat-maintenance', '* * * * *', 'select public.run_maintenance(5000)');
-- or run `mistral-agent-chat maintenance` (DATABASE_URL set) from any scheduler; the Node server runs it
-- by itself (MAINTENANCE_INTERVAL_MS).
-- Affects: public.rate_limits and public.agent_token_usage (an index each), public.agent_token_usage (a
-- foreign key; rows of agents that no longer exist are deleted first), public.maintenance_tasks (new),
-- public.prune_rate_limits, public.prune_token_usage, public.run_maintenance (new).
-- Security: as in 00002-00004, every function is security invoker with an empty search_path and executable
-- by service_role only (pg_cron runs the job as the role that scheduled it, the database owner);
-- maintenance_tasks has row level security and no policy: invisible to anon and authenticated.

-- the oldest windows first: what prune_rate_limits reads. window_start changes at most once a minute per
-- bucket (the first hit of a new minute), so the hits counted within a minute stay HOT updates.
create index idx_rate_limits_window_start on public.rate_limits (window_start);

-- the oldest days first: what prune_token_usage reads (the primary key starts with agent_id)
create index idx_agent_token_usage_day on public.agent_token_usage (day);

-- counters of agents deleted before this migration, which nothing removed yet
delete from public.agent_token_usage u
where not exists (select 1 from public.agents a where a.id = u.agent_id);

-- indexed by the primary key (agent_id, day, shard)
alter table public.agent_token_usage
  add constraint agent_token_usage_agent_id_fkey
  foreign key (agent_id) references public.agents (id) on delete cascade;

comment on table public.agent_token_usage is
  'Mistral tokens billed per agent and UTC day (prompt + completion), split over shards 0-15: sum them. Kept 400 days (public.prune_token_usage).';

create table public.maintenance_tasks (
  name text primary key,
  function_name text not null unique,
  -- tasks run in this order, then by name
  position integer not null default 100,
  created_at timestamptz not null default now(),
  constraint maintenance_tasks_name_check check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  -- a plain schema-qualified name: run_maintenance puts it into the SQL it runs
  constraint maintenance_tasks_function_name_check check (function_name ~ '^public\.[a-z_][a-z0-9_]{0,62}$')
);
comment on table public.maintenance_tasks is
  'Tasks public.run_maintenance runs: each function_name(batch_size integer) returns integer removes at most batch_size rows.';

alter table public.maintenance_tasks enable row level security;

-- no policy: only the service role (which bypasses row level security) and the database owner use it
revoke all on table public.maintenance_tasks from anon, authenticated;
grant select, insert, update, delete on table public.maintenance_tasks to service_role;

-- prune_rate_limits: deletes at most batch_size buckets idle for over an hour, oldest first; skip locked:
-- never waits on (or deadlocks with) a bucket a turn is counting right now
create or replace function public.prune_rate_limits(batch_size integer)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_removed integer;
begin
  with doomed as (
    select r.bucket
    from public.rate_limits r
    where r.window_start < now() - interval '1 hour'
    order by r.window_start
    limit greatest(batch_size, 0)
    for update skip locked
  )
  delete from public.rate_limits r
  using doomed d
  where r.bucket = d.bucket;
  get diagnostics v_removed = row_count;
  return v_removed;
end;
$$;

-- prune_token_usage: deletes at most batch_size counter rows of UTC days more than 400 days ago
create or replace function public.prune_token_usage(batch_size integer)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_removed integer;
begin
  with doomed as (
    select u.agent_id, u.day, u.shard
    from public.agent_token_usage u
    where u.day < (now() at time zone 'utc')::date - 400
    order by u.day
    limit greatest(batch_size, 0)
    for update skip locked
  )
  delete from public.agent_token_usage u
  using doomed d
  where u.agent_id = d.agent_id and u.day = d.day and u.shard = d.shard;
  get diagnostics v_removed = row_count;
  return v_removed;
end;
$$;

insert into public.maintenance_tasks (name, function_name, position) values
  ('rate_limits', 'public.prune_rate_limits', 10),
  ('token_usage', 'public.prune_token_usage', 20);

-- run_maintenance: one batch of every task. {"skipped":true} when another caller holds the maintenance
-- lock; else {"skipped":false,"removed":{task:rows},"errors":{task:message}} (errors only when some failed).
-- Each task runs in its own subtransaction: one that fails is rolled back alone and reported.
create or replace function public.run_maintenance(batch_size integer)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_task record;
  v_removed integer;
  v_removed_all jsonb := '{}'::jsonb;
  v_errors jsonb := '{}'::jsonb;
begin
  if batch_size is null or batch_size < 1 then
    raise exception 'run_maintenance: batch_size must be a positive integer, got %', batch_size
      using errcode = '22023';
  end if;

  -- one caller at a time across every server and pg_cron; released at commit
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('mistral-agent-chat:maintenance')) then
    return jsonb_build_object('skipped', true);
  end if;

  for v_task in
    select t.name, t.function_name from public.maintenance_tasks t order by t.position, t.name
  loop
    begin
      -- function_name is checked by maintenance_tasks_function_name_check: public.<identifier>
      execute format('select %s($1)', v_task.function_name) into v_removed using batch_size;
      v_removed_all := v_removed_all || jsonb_build_object(v_task.name, coalesce(v_removed, 0));
    exception when others then
      v_errors := v_errors || jsonb_build_object(v_task.name, sqlerrm);
    end;
  end loop;

  return jsonb_build_object('skipped', false, 'removed', v_removed_all)
    || case when v_errors = '{}'::jsonb then '{}'::jsonb else jsonb_build_object('errors', v_errors) end;
end;
$$;

revoke execute on function public.prune_rate_limits(integer) from public, anon, authenticated;
revoke execute on function public.prune_token_usage(integer) from public, anon, authenticated;
revoke execute on function public.run_maintenance(integer) from public, anon, authenticated;
grant execute on function public.prune_rate_limits(integer) to service_role;
grant execute on function public.prune_token_usage(integer) to service_role;
grant execute on function public.run_maintenance(integer) to service_role;

-- pg_cron (Supabase: Integrations → Cron), when installed: every minute, one batch of every task. Scheduling
-- a job under an existing name replaces it (pg_cron 1.4+), so running this again changes nothing.
do $$
begin
  if pg_catalog.to_regprocedure('cron.schedule(text,text,text)') is not null then
    perform cron.schedule('mistral-agent-chat-maintenance', '* * * * *', 'select public.run_maintenance(5000)');
  end if;
end;
$$;
