-- Migration: 00004_wave2_columns
-- Purpose: the columns and the table that DESIGN.md "Wave 2" names, in one place, so that every wave-2
-- feature (grounded answers, visitor identity, feedback, retention, the owner console) builds on them:
--   * agents.mistral_agent_id, identity_secret, identity_required, retention_days;
--   * conversations.user_ref (the verified visitor's `sub`);
--   * messages.sources (what an assistant reply cites);
--   * message_feedback: one rating (and an optional comment) per assistant message, owners read their
--     agents' feedback under RLS;
--   * begin_turn no longer prunes the counter tables inside a visitor's turn (a scheduled, batched
--     maintenance job does it, 00005), and it returns the agent's mistral_agent_id with its settings.
-- Affects: public.agents (4 columns), public.conversations (1), public.messages (1), public.message_feedback
-- (new), public.begin_turn (replaced: same signature and parameter names, the supabase-js adapter calls
-- it by name).
-- Security: message_feedback has RLS (owners: select on their agents' messages only; anon nothing); it is
-- written by the service role (the proxy). begin_turn stays security invoker, service_role only.

alter table public.agents
  add column mistral_agent_id text,
  add column identity_secret text,
  add column identity_required boolean not null default false,
  add column retention_days integer,
  add constraint agents_mistral_agent_id_check
    check (mistral_agent_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$'),
  -- an HS256 key of at least 256 bits, as RFC 7518 requires; printable, no whitespace
  add constraint agents_identity_secret_check
    check (char_length(identity_secret) between 32 and 512 and identity_secret !~ '[[:space:][:cntrl:]]'),
  add constraint agents_retention_days_check check (retention_days > 0);

comment on column public.agents.mistral_agent_id is
  'null: chat completions with this row''s instructions and settings; set: Mistral''s Conversations API with that agent (its instructions, tools and document libraries apply).';
comment on column public.agents.identity_secret is
  'null: visitor identity off; set: the HS256 secret the site''s backend signs visitor tokens (X-User-Token) with. Never shown to visitors; the owner API shows has_identity_secret.';
comment on column public.agents.identity_required is
  'When true, turns without a valid visitor token are refused (401 identity_required).';
comment on column public.agents.retention_days is
  'null: keep conversations forever; else conversations idle longer than this many days are purged.';

alter table public.conversations
  add column user_ref text,
  add constraint conversations_user_ref_check check (char_length(user_ref) between 1 and 255);

comment on column public.conversations.user_ref is
  'The verified visitor''s `sub` when the conversation''s turns carried a valid user token; null for anonymous conversations.';

-- a verified user's conversations with one agent, newest activity first (GET /v1/conversations)
create index idx_conversations_agent_id_user_ref
  on public.conversations (agent_id, user_ref, updated_at desc)
  where user_ref is not null;

alter table public.messages
  add column sources jsonb,
  add constraint messages_sources_check check (jsonb_typeof(sources) = 'array');

comment on column public.messages.sources is
  'What an assistant reply cites: [{"id","title","url"?,"snippet"?}] (url: absolute http(s) only); null when none.';

-- message_feedback: a visitor's rating of one assistant reply; the last rating counts (one row per message),
-- and clearing it deletes the row
create table public.message_feedback (
  message_id uuid primary key references public.messages (id) on delete cascade,
  rating text not null,
  comment text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint message_feedback_rating_check check (rating in ('up', 'down')),
  constraint message_feedback_comment_check check (char_length(comment) <= 2000)
);
comment on table public.message_feedback is
  'Visitors'' ratings of assistant replies ("up" or "down", optional comment); the last rating counts.';

alter table public.message_feedback enable row level security;

-- per row, through the message's primary key: cheap whatever the size of the owner's data
create policy "Owners can view feedback on their agents' messages"
  on public.message_feedback for select to authenticated
  using (
    exists (
      select 1
      from public.messages m
      join public.conversations c on c.id = m.conversation_id
      join public.agents a on a.id = c.agent_id
      where m.id = message_feedback.message_id
        and a.user_id = (select auth.uid())
    )
  );

-- default privileges grant everything to anon and authenticated: owners read, only the proxy writes
revoke all on table public.message_feedback from anon, authenticated;
grant select on table public.message_feedback to authenticated;
grant select, insert, update, delete on table public.message_feedback to service_role;

create trigger update_message_feedback_updated_at
  before update on public.message_feedback
  for each row execute function public.update_updated_at_column();

-- begin_turn: as in 00003, without the occasional pruning of rate_limits / agent_token_usage inside the
-- turn (sequential scans on a visitor's path; 00005 schedules it in batches), and with the agent's
-- mistral_agent_id among the settings it returns
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
      'top_p', v_agent.top_p::float8,
      'mistral_agent_id', v_agent.mistral_agent_id
    ),
    'history', v_history
  );
end;
$$;

-- create or replace keeps grants; restated so this file reads on its own
revoke execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer)
  from public, anon, authenticated;
grant execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer)
  to service_role;
