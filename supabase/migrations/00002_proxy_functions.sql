-- Migration: 00002_proxy_functions
-- Purpose: what the widget proxy needs on top of the given schema:
--   * integrity: unique api keys, one conversation per (agent, session_id), value checks;
--   * an index for history reads (conversation_id, created_at);
--   * the SQL functions the proxy calls, so each proxy step is one round trip and both store adapters
--     (pg/PGlite and supabase-js .rpc()) share one implementation.
-- Security: every function is security invoker with an empty search_path (everything fully qualified)
-- and executable by service_role only: visitors never reach the database, the proxy holds the key.

-- one agent per api key (keeps the seed's index name, now unique)
drop index if exists public.idx_agents_api_key;
create unique index idx_agents_api_key on public.agents (api_key);

-- one conversation per agent and widget session; the target of begin_turn's upsert
alter table public.conversations
  add constraint conversations_agent_id_session_id_key unique (agent_id, session_id);

alter table public.messages
  add constraint messages_role_check check (role in ('user', 'assistant'));

alter table public.agents
  add constraint agents_temperature_check check (temperature between 0 and 1),
  add constraint agents_top_p_check check (top_p between 0 and 1),
  add constraint agents_max_tokens_check check (max_tokens > 0);

-- history reads: the newest messages of one conversation
create index idx_messages_conversation_id_created_at
  on public.messages (conversation_id, created_at, id);

-- next_message_time: now(), or just after the conversation's latest message when the clock has not
-- moved on (PGlite's clock ticks in milliseconds; clocks can step back). Callers hold the
-- conversation's row lock, so messages of one conversation are strictly ordered by created_at.
create or replace function public.next_message_time(p_conversation_id uuid)
returns timestamptz
language sql
stable
security invoker
set search_path = ''
as $$
  select greatest(
    now(),
    (select max(m.created_at) from public.messages m where m.conversation_id = p_conversation_id)
      + interval '1 microsecond'
  );
$$;

-- agent_by_key: display info and the origin check of the agent owning a widget key, or null
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
    'allowed_origins', null
  )
  from public.agents a
  where a.api_key = p_api_key;
$$;

-- begin_turn: verify the key, upsert the conversation, store the visitor's message, and return the
-- agent settings plus the bounded history (oldest first, ending with the message just stored).
-- p_origin and p_client_ip are for the abuse-control migration (00003); unused here.
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

  v_metadata := case when jsonb_typeof(p_metadata) = 'object' then p_metadata else '{}'::jsonb end;

  -- on conflict makes concurrent first turns of one session meet on the same row instead of failing;
  -- the update also locks the row, so turns of one session are stored one after the other
  insert into public.conversations as c (agent_id, session_id, visitor_id, metadata)
  values (v_agent.id, p_session_id, p_visitor_id, v_metadata)
  on conflict (agent_id, session_id) do update
    set metadata = c.metadata || excluded.metadata,
        visitor_id = coalesce(excluded.visitor_id, c.visitor_id)
  returning c.id into v_conversation_id;

  insert into public.messages (conversation_id, role, content, created_at)
  values (v_conversation_id, 'user', p_content, public.next_message_time(v_conversation_id))
  returning id into v_message_id;

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

-- end_turn: billed prompt tokens on the user message, the reply with its completion tokens
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
  v_message_id uuid;
begin
  -- lock the conversation (as begin_turn does) so its messages get increasing times; bump updated_at
  update public.conversations c set updated_at = now() where c.id = p_conversation_id;

  update public.messages m
  set tokens_used = coalesce(p_prompt_tokens, m.tokens_used)
  where m.id = p_user_message_id
    and m.conversation_id = p_conversation_id;

  insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, created_at)
  values (p_conversation_id, 'assistant', coalesce(p_content, ''), p_completion_tokens, p_response_time_ms,
          public.next_message_time(p_conversation_id))
  returning id into v_message_id;

  return v_message_id;
end;
$$;

-- session_history: the last p_limit messages of this agent's session, oldest first
create or replace function public.session_history(p_agent_id uuid, p_session_id text, p_limit integer)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select coalesce(
    jsonb_agg(
      jsonb_build_object(
        'id', t.id,
        'role', t.role,
        'content', t.content,
        'created_at', to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      )
      order by t.created_at, t.id
    ),
    '[]'::jsonb
  )
  from (
    select m.id, m.role, m.content, m.created_at
    from public.conversations c
    join public.messages m on m.conversation_id = c.id
    where c.agent_id = p_agent_id
      and c.session_id = p_session_id
    order by m.created_at desc, m.id desc
    limit greatest(coalesce(p_limit, 0), 0)
  ) t;
$$;

-- the proxy (service role) only
revoke execute on function public.next_message_time(uuid) from public, anon, authenticated;
grant execute on function public.next_message_time(uuid) to service_role;
revoke execute on function public.agent_by_key(text) from public, anon, authenticated;
revoke execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer)
  from public, anon, authenticated;
revoke execute on function public.end_turn(uuid, uuid, text, integer, integer, integer)
  from public, anon, authenticated;
revoke execute on function public.session_history(uuid, text, integer) from public, anon, authenticated;

grant execute on function public.agent_by_key(text) to service_role;
grant execute on function public.begin_turn(text, text, text, text, text, jsonb, text, integer, integer)
  to service_role;
grant execute on function public.end_turn(uuid, uuid, text, integer, integer, integer) to service_role;
grant execute on function public.session_history(uuid, text, integer) to service_role;
