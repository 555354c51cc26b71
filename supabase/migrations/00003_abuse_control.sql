-- Migration: 00003_abuse_control
-- Purpose: the database half of abuse control. The widget's api_key is public (it sits in the page's
-- HTML), so what stops a stranger from spending an owner's Mistral credit lives here:
--   * per-agent settings: an origin allowlist (checked by the proxy), per-minute turn limits per widget
--     session and per client IP, and a daily token budget;
--   * counters shared by every proxy instance (rate_limits, agent_token_usage), so limits hold when
--     the proxy is scaled out; token usage is split over 16 rows per agent and day, so the turns of a
--     busy agent do not all queue on one row lock;
--   * begin_turn refuses a turn over a limit before storing anything; end_turn counts billed tokens;
--     agent_by_key returns the real allowed_origins; a retried, still unanswered visitor message is
--     stored once (begin_turn reuses it).
-- Affects: public.agents (4 columns), public.rate_limits, public.agent_token_usage and the view
-- public.agent_daily_token_usage (new), public.hit_rate_limit (new), public.agent_by_key,
-- public.begin_turn, public.end_turn (replaced, same signatures and parameter names: the supabase-js
-- adapter calls them by name).
-- Security: as in 00002, every function is security invoker with an empty search_path and executable by
-- service_role only; the counter tables are invisible to anon, and owners may only read their own
-- agents' token usage (the table, or its per-day totals through a security_invoker view).

-- per-agent abuse-control settings; null means "the default" for each
alter table public.agents
  add column allowed_origins text[],
  add column rate_limit_session_per_minute integer,
  add column rate_limit_ip_per_minute integer,
  add column daily_token_budget integer,
  add constraint agents_rate_limit_session_per_minute_check check (rate_limit_session_per_minute >= 0),
  add constraint agents_rate_limit_ip_per_minute_check check (rate_limit_ip_per_minute >= 0),
  add constraint agents_daily_token_budget_check check (daily_token_budget > 0),
  -- each entry is `*`, `null`, `scheme://host[:port]` (a trailing slash allowed) or `scheme://*.host[:port]`,
  -- with no whitespace or null entry; case is free (the proxy normalises entries through URL parsing)
  add constraint agents_allowed_origins_check check (
    cardinality(allowed_origins) = 0
    or (
      position(chr(10) in array_to_string(allowed_origins, '')) = 0
      and (array_to_string(allowed_origins, chr(10), '') || chr(10))
        ~* '^((\*|null|[a-z][a-z0-9+.-]*://(\*\.)?([^][/:@?#*[:space:]]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?/?)\n)+$'
    )
  );

comment on column public.agents.allowed_origins is
  'Web origins allowed to use the widget (https://shop.example.com, https://*.example.com, *); null or empty = any.';
comment on column public.agents.rate_limit_session_per_minute is
  'Turns per widget session per minute; null = 20, 0 = unlimited.';
comment on column public.agents.rate_limit_ip_per_minute is
  'Turns per client IP per minute; null = 60, 0 = unlimited.';
comment on column public.agents.daily_token_budget is
  'Mistral tokens (prompt + completion) per UTC day; null = unlimited.';

-- rate_limits: one row per bucket (`s:<agent>:<session>`, `i:<agent>:<ip>`), fixed one-minute windows.
-- Written only by hit_rate_limit; rows idle for an hour are pruned by begin_turn now and then.
create table public.rate_limits (
  bucket text primary key,
  window_start timestamptz not null,
  hits integer not null
);
comment on table public.rate_limits is 'Turn counters of the current minute per widget session and client IP (proxy only).';

-- agent_token_usage: billed tokens per agent and UTC day, for daily_token_budget (and owners' dashboards),
-- as a sharded counter: end_turn adds to one of 16 rows chosen by the conversation, so concurrent turns
-- of one agent's different conversations mostly lock different rows (one row made every turn of a busy
-- agent wait for the previous one's commit). A day's usage is the sum of its shards.
-- No foreign key: begin_turn's occasional cleanup removes the rows of deleted agents.
create table public.agent_token_usage (
  agent_id uuid not null,
  day date not null,
  shard smallint not null check (shard between 0 and 15),
  tokens bigint not null default 0 check (tokens >= 0),
  primary key (agent_id, day, shard)
);
comment on table public.agent_token_usage is
  'Mistral tokens billed per agent and UTC day (prompt + completion), split over shards 0-15: sum them.';

alter table public.rate_limits enable row level security;
alter table public.agent_token_usage enable row level security;

-- rate_limits has no policy: only the service role (which bypasses RLS) touches it
create policy "Owners can view token usage of their agents"
  on public.agent_token_usage for select to authenticated
  using (
    agent_id in (select a.id from public.agents a where a.user_id = (select auth.uid()))
  );

-- default privileges (Supabase's and our bootstrap's) grant everything to anon and authenticated
revoke all on table public.rate_limits from anon, authenticated;
revoke all on table public.agent_token_usage from anon, authenticated;
grant select on table public.agent_token_usage to authenticated;
grant select, insert, update, delete on table public.rate_limits to service_role;
grant select, insert, update, delete on table public.agent_token_usage to service_role;

-- agent_daily_token_usage: the shards summed, one row per agent and UTC day; security_invoker so the
-- table's policy applies (owners see their own agents only)
create view public.agent_daily_token_usage
with (security_invoker = true)
as
select u.agent_id, u.day, sum(u.tokens)::bigint as tokens
from public.agent_token_usage u
group by u.agent_id, u.day;
comment on view public.agent_daily_token_usage is 'Mistral tokens billed per agent and UTC day (prompt + completion).';

revoke all on public.agent_daily_token_usage from anon, authenticated;
grant select on public.agent_daily_token_usage to authenticated, service_role;

-- hit_rate_limit: counts one turn in the bucket's current minute (atomically: concurrent calls queue on
-- the row) and returns 0 when the count stays within p_limit, else the seconds until the window ends
-- (1..60). Refused turns count too, so a client that keeps hammering stays refused for the minute.
create or replace function public.hit_rate_limit(p_bucket text, p_limit integer)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_hits integer;
  v_window_start timestamptz;
begin
  insert into public.rate_limits as r (bucket, window_start, hits)
  values (p_bucket, date_trunc('minute', now()), 1)
  on conflict (bucket) do update
    -- a new minute starts a new count; a clock stepping back keeps the current one
    set hits = case when r.window_start >= excluded.window_start then r.hits + 1 else 1 end,
        window_start = greatest(r.window_start, excluded.window_start)
  returning r.hits, r.window_start into v_hits, v_window_start;

  if v_hits <= p_limit then
    return 0;
  end if;
  return greatest(1, ceil(extract(epoch from (v_window_start + interval '1 minute' - now())))::integer);
end;
$$;

-- agent_by_key: as in 00002, now with the agent's allowed_origins (a JSON array, or null)
create or replace function public.agent_by_key(p_api_key text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object(
    'id', a.id,
    'name', a.name,
    'role', a.role,
    'is_active', a.is_active,
    'allowed_origins', to_jsonb(a.allowed_origins)
  )
  from public.agents a
  where a.api_key = p_api_key;
$$;

-- begin_turn: as in 00002, plus the limits, enforced after the key checks and before anything is stored:
-- the daily token budget, then turns per session, then turns per client IP (skipped when unknown).
-- A refusal is {"ok":false,"code":"rate_limited","retry_after":<seconds>,"message":<which limit>}.
-- p_origin is not checked here: the proxy checks it against agent_by_key's allowed_origins (it needs
-- URL normalisation, and answers 403 before a turn starts).
create or replace function public.begin_turn(
  p_api_key text,
  p_origin text,
  p_client_ip text,
  p_session_id text,
  p_visitor_id text,
  p_metadata jsonb,
  p_content text,
  p_history_limit integer,
  p_history_chars integer
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_agent public.agents%rowtype;
  v_today date := (now() at time zone 'utc')::date;
  v_limit integer;
  v_used bigint;
  v_retry_after integer;
  v_metadata jsonb;
  v_conversation_id uuid;
  v_message_id uuid;
  v_history jsonb;
begin
  select * into v_agent from public.agents a where a.api_key = p_api_key;
  if not found then
    return jsonb_build_object('ok', false, 'code', 'invalid_api_key');
  end if;
  if not v_agent.is_active then
    return jsonb_build_object('ok', false, 'code', 'agent_inactive');
  end if;

  -- once in about 500 calls, prune what no limit reads any more, so both tables stay bounded;
  -- skip locked: never wait on (or deadlock with) a row a concurrent turn is counting
  if random() < 0.002 then
    delete from public.rate_limits r
    where r.bucket in (
      select s.bucket from public.rate_limits s
      where s.window_start < now() - interval '1 hour'
      for update skip locked
    );
    delete from public.agent_token_usage u
    where (u.agent_id, u.day, u.shard) in (
      select s.agent_id, s.day, s.shard from public.agent_token_usage s
      where not exists (select 1 from public.agents a where a.id = s.agent_id)
      for update skip locked
    );
  end if;

  if v_agent.daily_token_budget is not null then
    -- today's shards (at most 16 rows, found through the primary key)
    select sum(u.tokens) into v_used
    from public.agent_token_usage u
    where u.agent_id = v_agent.id and u.day = v_today;
    if coalesce(v_used, 0) >= v_agent.daily_token_budget then
      return jsonb_build_object(
        'ok', false,
        'code', 'rate_limited',
        'retry_after', greatest(1, ceil(extract(epoch from
          ((v_today + 1)::timestamp at time zone 'utc') - now())))::integer,
        'message', 'This assistant has used its daily budget. Please come back tomorrow.'
      );
    end if;
  end if;

  v_limit := coalesce(v_agent.rate_limit_session_per_minute, 20);
  if v_limit > 0 then
    v_retry_after := public.hit_rate_limit('s:' || v_agent.id || ':' || p_session_id, v_limit);
    if v_retry_after > 0 then
      return jsonb_build_object(
        'ok', false,
        'code', 'rate_limited',
        'retry_after', v_retry_after,
        'message', format('Too many messages in this conversation (at most %s per minute). Please wait a moment.', v_limit)
      );
    end if;
  end if;

  v_limit := coalesce(v_agent.rate_limit_ip_per_minute, 60);
  if v_limit > 0 and p_client_ip is not null then
    v_retry_after := public.hit_rate_limit('i:' || v_agent.id || ':' || lower(p_client_ip), v_limit);
    if v_retry_after > 0 then
      return jsonb_build_object(
        'ok', false,
        'code', 'rate_limited',
        'retry_after', v_retry_after,
        'message', format('Too many messages from your network (at most %s per minute). Please wait a moment.', v_limit)
      );
    end if;
  end if;

  v_metadata := case when jsonb_typeof(p_metadata) = 'object' then p_metadata else '{}'::jsonb end;

  -- on conflict makes concurrent first turns of one session meet on the same row instead of failing;
  -- the update also locks the row, so turns of one session are stored one after the other
  insert into public.conversations as c (agent_id, session_id, visitor_id, metadata)
  values (v_agent.id, p_session_id, p_visitor_id, v_metadata)
  on conflict (agent_id, session_id) do update
    set metadata = c.metadata || excluded.metadata,
        visitor_id = coalesce(excluded.visitor_id, c.visitor_id)
  returning c.id into v_conversation_id;

  -- a retry: the conversation's last message is this same visitor message, still unanswered (the turn
  -- failed before any reply was stored) and recent. Reuse it, so the visitor's words and the statistics
  -- count it once however often the widget's Retry is pressed.
  select last.id into v_message_id
  from (
    select m.id, m.role, m.content, m.created_at
    from public.messages m
    where m.conversation_id = v_conversation_id
    order by m.created_at desc, m.id desc
    limit 1
  ) last
  where last.role = 'user'
    and last.content = p_content
    and last.created_at > now() - interval '15 minutes';

  if v_message_id is null then
    insert into public.messages (conversation_id, role, content, created_at)
    values (v_conversation_id, 'user', p_content, public.next_message_time(v_conversation_id))
    returning id into v_message_id;
  end if;

  -- earlier messages, newest first, while they fit in what the new message leaves of the budgets
  select coalesce(jsonb_agg(jsonb_build_object('role', h.role, 'content', h.content)
                            order by h.created_at, h.id), '[]'::jsonb)
  into v_history
  from (
    select m.id, m.role, m.content, m.created_at,
           sum(length(m.content)) over (order by m.created_at desc, m.id desc) as running_chars
    from public.messages m
    where m.conversation_id = v_conversation_id
      and m.id <> v_message_id
    order by m.created_at desc, m.id desc
    limit greatest(coalesce(p_history_limit, 0) - 1, 0)
  ) h
  where h.running_chars <= coalesce(p_history_chars, 0) - length(p_content);

  v_history := v_history || jsonb_build_array(jsonb_build_object('role', 'user', 'content', p_content));

  return jsonb_build_object(
    'ok', true,
    'conversation_id', v_conversation_id,
    'user_message_id', v_message_id,
    'agent', jsonb_build_object(
      'id', v_agent.id,
      'name', v_agent.name,
      'role', v_agent.role,
      'instructions', v_agent.instructions,
      'model', v_agent.model,
      'temperature', v_agent.temperature::float8,
      'max_tokens', v_agent.max_tokens,
      'top_p', v_agent.top_p::float8
    ),
    'history', v_history
  );
end;
$$;

-- end_turn: as in 00002, and the billed tokens (prompt + completion) count towards today's usage, in the
-- shard of the conversation: turns of one conversation already wait for each other on its row, turns of
-- different conversations spread over the 16 shards
create or replace function public.end_turn(
  p_conversation_id uuid,
  p_user_message_id uuid,
  p_content text,
  p_prompt_tokens integer,
  p_completion_tokens integer,
  p_response_time_ms integer
)
returns uuid
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_agent_id uuid;
  v_tokens bigint := greatest(coalesce(p_prompt_tokens, 0), 0) + greatest(coalesce(p_completion_tokens, 0), 0);
  v_message_id uuid;
begin
  -- lock the conversation (as begin_turn does) so its messages get increasing times; bump updated_at
  update public.conversations c set updated_at = now() where c.id = p_conversation_id
  returning c.agent_id into v_agent_id;

  update public.messages m
  set tokens_used = coalesce(p_prompt_tokens, m.tokens_used)
  where m.id = p_user_message_id
    and m.conversation_id = p_conversation_id;

  insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, created_at)
  values (p_conversation_id, 'assistant', coalesce(p_content, ''), p_completion_tokens, p_response_time_ms,
          public.next_message_time(p_conversation_id))
  returning id into v_message_id;

  if v_agent_id is not null and v_tokens > 0 then
    -- `& 15` rather than abs() % 16: abs() of the smallest integer overflows
    insert into public.agent_token_usage as u (agent_id, day, shard, tokens)
    values (v_agent_id, (now() at time zone 'utc')::date, pg_catalog.hashtext(p_conversation_id::text) & 15, v_tokens)
    on conflict (agent_id, day, shard) do update set tokens = u.tokens + excluded.tokens;
  end if;

  return v_message_id;
end;
$$;

-- the proxy (service role) only; create or replace keeps grants, these lines restate them
revoke execute on function public.hit_rate_limit(text, integer) from public, anon, authenticated;
revoke execute on function public.agent_by_key(text) from public, anon, authenticated;
revoke execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer)
  from public, anon, authenticated;
revoke execute on function public.end_turn(uuid, uuid, text, integer, integer, integer)
  from public, anon, authenticated;

grant execute on function public.hit_rate_limit(text, integer) to service_role;
grant execute on function public.agent_by_key(text) to service_role;
grant execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer)
  to service_role;
grant execute on function public.end_turn(uuid, uuid, text, integer, integer, integer) to service_role;
