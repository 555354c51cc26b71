-- Migration: 00009_visitor_identity
-- Purpose: visitors who come back (issue 13) and a stopped reply that stays as shown (issue 14 item 5):
--   * signed identity: agent_by_key also returns identity_secret and identity_required (for the proxy's
--     token check; the proxy never sends them to a visitor); begin_turn gains p_user_ref (the verified
--     token's `sub`): a verified turn binds its conversation to that user, a conversation bound to a user
--     refuses anyone else (code not_found);
--   * replies that survive the visitor leaving, one at a time per session, and an explicit Stop that
--     travels through the database to whichever instance streams the reply: public.inflight_replies, one
--     row per reply being produced (begin_turn inserts it, end_turn / abandon_turn delete it: no extra round
--     trip), stop_requested_at set by request_stop, read by stop_requests (one batched query per instance);
--   * messages.stopped: the reply was ended by Stop (end_turn's p_stopped);
--   * visitor_history: the history call with `pending`, `stopped`, `feedback`, and the bound-conversation check;
--   * user_conversations: a verified user's conversations with one agent (GET /v1/conversations);
--   * set_message_feedback: a visitor's rating of an assistant reply (message_feedback, 00004; 00006's
--     counters follow it through its triggers).
-- Affects: public.messages (1 column), public.inflight_replies (new), public.agent_by_key (replaced, same
-- signature), public.begin_turn (dropped and created with p_user_ref and p_reply_limit_ms, both defaulting to
-- null, so a call without them still resolves), public.end_turn (dropped and created with p_stopped default
-- false), public.abandon_turn, public.request_stop, public.stop_requests, public.visitor_history,
-- public.user_conversations, public.set_message_feedback, public.prune_inflight_replies (new; registered as
-- the maintenance task inflight_replies). public.session_history stays as in 00007.
-- Security: every function is security invoker with an empty search_path and executable by the service role
-- only (the proxy); inflight_replies has RLS with no policy (only the service role reads or writes it).

alter table public.messages
  add column stopped boolean not null default false;

comment on column public.messages.stopped is
  'An assistant reply ended by the visitor''s Stop: content is exactly what was relayed before it.';

-- inflight_replies: a reply being produced right now, by any proxy instance
create table public.inflight_replies (
  conversation_id uuid primary key references public.conversations (id) on delete cascade,
  user_message_id uuid not null,
  started_at timestamptz not null default now(),
  -- past this the row is stale (the instance that streamed it died): the proxy's total reply limit plus a margin
  expires_at timestamptz not null,
  stop_requested_at timestamptz
);
comment on table public.inflight_replies is
  'Replies being produced right now (one per conversation): `pending` in the history, 409 reply_in_progress, and Stop (stop_requested_at, polled by the streaming instance). Rows past expires_at are left-overs of a crashed instance and count for nothing.';

alter table public.inflight_replies enable row level security;
revoke all on table public.inflight_replies from anon, authenticated;
grant select, insert, update, delete on table public.inflight_replies to service_role;

-- agent_by_key: as in 00003, with what the proxy needs to check a visitor token
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
    'allowed_origins', to_jsonb(a.allowed_origins),
    'identity_secret', a.identity_secret,
    'identity_required', a.identity_required
  )
  from public.agents a
  where a.api_key = p_api_key;
$$;

drop function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer);

-- begin_turn: as in 00004 (no in-turn pruning, mistral_agent_id among the settings), and:
--   * p_user_ref: the verified visitor's `sub` (null: anonymous). An anonymous conversation becomes the
--     user's on their first verified turn; a conversation bound to a user refuses anyone else (not_found,
--     nothing stored). An agent with identity_required refuses a turn without a user (identity_required).
--   * p_reply_limit_ms: when given, the turn is registered in inflight_replies until end_turn / abandon_turn
--     (or that long plus a minute, if its instance dies); while a reply of the conversation is in flight, a
--     new turn is refused (reply_in_progress, nothing stored)
create function public.begin_turn(
  p_api_key text,
  p_origin text,
  p_client_ip text,
  p_session_id text,
  p_visitor_id text,
  p_metadata jsonb,
  p_content text,
  p_history_limit integer,
  p_history_chars integer,
  p_user_ref text default null,
  p_reply_limit_ms integer default null
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
  if v_agent.identity_required and p_user_ref is null then
    return jsonb_build_object('ok', false, 'code', 'identity_required');
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
  -- the update also locks the row, so turns of one session are stored one after the other. A conversation
  -- bound to another user (or to a user, for an anonymous turn) is left as it is: no row comes back.
  insert into public.conversations as c (agent_id, session_id, visitor_id, metadata, user_ref)
  values (v_agent.id, p_session_id, p_visitor_id, v_metadata, p_user_ref)
  on conflict (agent_id, session_id) do update
    set metadata = c.metadata || excluded.metadata,
        visitor_id = coalesce(excluded.visitor_id, c.visitor_id),
        user_ref = coalesce(c.user_ref, excluded.user_ref)
    where c.user_ref is null or c.user_ref = excluded.user_ref
  returning c.id into v_conversation_id;

  if v_conversation_id is null then
    return jsonb_build_object('ok', false, 'code', 'not_found');
  end if;

  -- one reply at a time per conversation (the row lock above orders concurrent turns)
  if exists (
    select 1 from public.inflight_replies r
    where r.conversation_id = v_conversation_id and r.expires_at > now()
  ) then
    return jsonb_build_object('ok', false, 'code', 'reply_in_progress');
  end if;

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

  if p_reply_limit_ms is not null then
    insert into public.inflight_replies as r (conversation_id, user_message_id, started_at, expires_at)
    values (v_conversation_id, v_message_id, now(),
            now() + make_interval(secs => greatest(p_reply_limit_ms, 0) / 1000.0) + interval '1 minute')
    on conflict (conversation_id) do update
      set user_message_id = excluded.user_message_id,
          started_at = excluded.started_at,
          expires_at = excluded.expires_at,
          stop_requested_at = null;
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

drop function public.end_turn(uuid, uuid, text, integer, integer, integer, jsonb);

-- end_turn: as in 00007 (billed prompt tokens on the user message, the reply with its completion tokens and
-- sources, today's usage in the conversation's shard), plus p_stopped (the reply was ended by Stop), and the
-- turn leaves inflight_replies
create function public.end_turn(
  p_conversation_id uuid,
  p_user_message_id uuid,
  p_content text,
  p_prompt_tokens integer,
  p_completion_tokens integer,
  p_response_time_ms integer,
  p_sources jsonb default null,
  p_stopped boolean default false
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
  v_sources jsonb := case when jsonb_typeof(p_sources) = 'array' and jsonb_array_length(p_sources) > 0 then p_sources end;
  v_message_id uuid;
begin
  if jsonb_typeof(p_sources) is distinct from 'null' and not public.message_sources_valid(p_sources) then
    raise exception 'end_turn: p_sources must be an array of at most 100 objects {"id","title","url"?,"snippet"?} (strings, unique ids, url absolute http(s))'
      using errcode = '22023';
  end if;

  -- lock the conversation (as begin_turn does) so its messages get increasing times; bump updated_at
  update public.conversations c set updated_at = now() where c.id = p_conversation_id
  returning c.agent_id into v_agent_id;

  update public.messages m
  set tokens_used = coalesce(p_prompt_tokens, m.tokens_used)
  where m.id = p_user_message_id
    and m.conversation_id = p_conversation_id;

  insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, sources, stopped, created_at)
  values (p_conversation_id, 'assistant', coalesce(p_content, ''), p_completion_tokens, p_response_time_ms, v_sources,
          coalesce(p_stopped, false), public.next_message_time(p_conversation_id))
  returning id into v_message_id;

  delete from public.inflight_replies r
  where r.conversation_id = p_conversation_id and r.user_message_id = p_user_message_id;

  if v_agent_id is not null and v_tokens > 0 then
    -- `& 15` rather than abs() % 16: abs() of the smallest integer overflows
    insert into public.agent_token_usage as u (agent_id, day, shard, tokens)
    values (v_agent_id, (now() at time zone 'utc')::date, pg_catalog.hashtext(p_conversation_id::text) & 15, v_tokens)
    on conflict (agent_id, day, shard) do update set tokens = u.tokens + excluded.tokens;
  end if;

  return v_message_id;
end;
$$;

-- abandon_turn: a turn that ends without a reply to store (the model failed before any text): it leaves
-- inflight_replies, so the visitor can send again at once
create function public.abandon_turn(p_conversation_id uuid, p_user_message_id uuid)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  delete from public.inflight_replies r
  where r.conversation_id = p_conversation_id and r.user_message_id = p_user_message_id;
$$;

-- request_stop: marks the session's reply in flight (if any) as stopped; false when the conversation is
-- bound to a user other than p_user_ref (the caller answers not_found); true otherwise, also when nothing
-- is in flight or the session is unknown
create function public.request_stop(p_agent_id uuid, p_session_id text, p_user_ref text)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_conversation_id uuid;
  v_user_ref text;
begin
  select c.id, c.user_ref into v_conversation_id, v_user_ref
  from public.conversations c
  where c.agent_id = p_agent_id and c.session_id = p_session_id;
  if not found then
    return true;
  end if;
  if v_user_ref is not null and v_user_ref is distinct from p_user_ref then
    return false;
  end if;
  update public.inflight_replies r
  set stop_requested_at = coalesce(r.stop_requested_at, now())
  where r.conversation_id = v_conversation_id;
  return true;
end;
$$;

-- stop_requests: of these replies in flight (conversation ids), the ones whose Stop was requested; the
-- streaming instance asks for all its replies at once, a few times a second while it streams
create function public.stop_requests(p_conversation_ids uuid[])
returns uuid[]
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(array_agg(r.conversation_id), '{}'::uuid[])
  from public.inflight_replies r
  where r.conversation_id = any (p_conversation_ids)
    and r.stop_requested_at is not null;
$$;

-- visitor_history: the history call. {"found": false} when the conversation is bound to a user other than
-- p_user_ref; else {"found": true, "messages": [...], "pending": bool}: the last p_limit messages oldest first,
-- with "sources" (when any), "stopped": true (a reply ended by Stop) and "feedback" (its rating) on
-- assistant messages; pending while a reply of the session is being produced
create function public.visitor_history(p_agent_id uuid, p_session_id text, p_limit integer, p_user_ref text)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_conversation_id uuid;
  v_user_ref text;
  v_messages jsonb;
  v_pending boolean;
begin
  select c.id, c.user_ref into v_conversation_id, v_user_ref
  from public.conversations c
  where c.agent_id = p_agent_id and c.session_id = p_session_id;
  if not found then
    return jsonb_build_object('found', true, 'messages', '[]'::jsonb, 'pending', false);
  end if;
  if v_user_ref is not null and v_user_ref is distinct from p_user_ref then
    return jsonb_build_object('found', false);
  end if;

  select coalesce(
    jsonb_agg(
      jsonb_build_object(
        'id', t.id,
        'role', t.role,
        'content', t.content,
        'created_at', to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      )
      || case when t.sources is null then '{}'::jsonb else jsonb_build_object('sources', t.sources) end
      || case when t.stopped then jsonb_build_object('stopped', true) else '{}'::jsonb end
      || case when f.rating is null then '{}'::jsonb else jsonb_build_object('feedback', f.rating) end
      order by t.created_at, t.id
    ),
    '[]'::jsonb
  )
  into v_messages
  from (
    select m.id, m.role, m.content, m.sources, m.stopped, m.created_at
    from public.messages m
    where m.conversation_id = v_conversation_id
    order by m.created_at desc, m.id desc
    limit greatest(coalesce(p_limit, 0), 0)
  ) t
  left join public.message_feedback f on f.message_id = t.id;

  select exists (
    select 1 from public.inflight_replies r
    where r.conversation_id = v_conversation_id and r.expires_at > now()
  ) into v_pending;

  return jsonb_build_object('found', true, 'messages', v_messages, 'pending', v_pending);
end;
$$;

-- user_conversations: a verified user's conversations with one agent, latest activity first (at most
-- p_limit, ≤ 50); title = the first visitor message, at most 80 characters
create function public.user_conversations(p_agent_id uuid, p_user_ref text, p_limit integer)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(
    jsonb_agg(
      jsonb_build_object(
        'session_id', c.session_id,
        'title', coalesce(btrim(left(btrim(first.content), 80)), ''),
        'updated_at', to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      )
      order by c.updated_at desc, c.id desc
    ),
    '[]'::jsonb
  )
  from (
    select c.id, c.session_id, c.updated_at
    from public.conversations c
    where c.agent_id = p_agent_id and c.user_ref = p_user_ref
    order by c.updated_at desc, c.id desc
    limit least(greatest(coalesce(p_limit, 0), 0), 50)
  ) c
  left join lateral (
    select m.content
    from public.messages m
    where m.conversation_id = c.id and m.role = 'user'
    order by m.created_at, m.id
    limit 1
  ) first on true;
$$;

-- set_message_feedback: a visitor rates an assistant reply of their session ("up" | "down"; null clears; the
-- last rating counts, its comment with it). false when the message is not an assistant message of that
-- session of that agent, or the conversation is bound to a user other than p_user_ref
create function public.set_message_feedback(
  p_agent_id uuid,
  p_session_id text,
  p_message_id uuid,
  p_user_ref text,
  p_rating text,
  p_comment text
)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if p_rating is not null and p_rating not in ('up', 'down') then
    raise exception 'set_message_feedback: p_rating must be up, down or null' using errcode = '22023';
  end if;
  perform 1
  from public.messages m
  join public.conversations c on c.id = m.conversation_id
  where m.id = p_message_id
    and m.role = 'assistant'
    and c.agent_id = p_agent_id
    and c.session_id = p_session_id
    and (c.user_ref is null or c.user_ref = p_user_ref);
  if not found then
    return false;
  end if;
  if p_rating is null then
    delete from public.message_feedback f where f.message_id = p_message_id;
  else
    insert into public.message_feedback as f (message_id, rating, comment)
    values (p_message_id, p_rating, p_comment)
    on conflict (message_id) do update
      set rating = excluded.rating, comment = excluded.comment
      where (f.rating, f.comment) is distinct from (excluded.rating, excluded.comment);
  end if;
  return true;
end;
$$;

-- prune_inflight_replies: a maintenance task (00005) deleting at most batch_size rows left by instances
-- that died mid-reply (past expires_at, so they already count for nothing); skip locked: never waits on a turn
create function public.prune_inflight_replies(batch_size integer)
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
    select r.conversation_id
    from public.inflight_replies r
    where r.expires_at < now()
    order by r.expires_at
    limit greatest(batch_size, 0)
    for update skip locked
  )
  delete from public.inflight_replies r
  using doomed d
  where r.conversation_id = d.conversation_id;
  get diagnostics v_removed = row_count;
  return v_removed;
end;
$$;

insert into public.maintenance_tasks (name, function_name, position) values
  ('inflight_replies', 'public.prune_inflight_replies', 50);

-- the proxy (service role) only; a new function is executable by PUBLIC until revoked
revoke execute on function public.prune_inflight_replies(integer) from public, anon, authenticated;
grant execute on function public.prune_inflight_replies(integer) to service_role;
revoke execute on function public.agent_by_key(text) from public, anon, authenticated;
revoke execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer, text, integer)
  from public, anon, authenticated;
revoke execute on function public.end_turn(uuid, uuid, text, integer, integer, integer, jsonb, boolean)
  from public, anon, authenticated;
revoke execute on function public.abandon_turn(uuid, uuid) from public, anon, authenticated;
revoke execute on function public.request_stop(uuid, text, text) from public, anon, authenticated;
revoke execute on function public.stop_requests(uuid[]) from public, anon, authenticated;
revoke execute on function public.visitor_history(uuid, text, integer, text) from public, anon, authenticated;
revoke execute on function public.user_conversations(uuid, text, integer) from public, anon, authenticated;
revoke execute on function public.set_message_feedback(uuid, text, uuid, text, text, text)
  from public, anon, authenticated;

grant execute on function public.agent_by_key(text) to service_role;
grant execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer, text, integer)
  to service_role;
grant execute on function public.end_turn(uuid, uuid, text, integer, integer, integer, jsonb, boolean) to service_role;
grant execute on function public.abandon_turn(uuid, uuid) to service_role;
grant execute on function public.request_stop(uuid, text, text) to service_role;
grant execute on function public.stop_requests(uuid[]) to service_role;
grant execute on function public.visitor_history(uuid, text, integer, text) to service_role;
grant execute on function public.user_conversations(uuid, text, integer) to service_role;
grant execute on function public.set_message_feedback(uuid, text, uuid, text, text, text) to service_role;
