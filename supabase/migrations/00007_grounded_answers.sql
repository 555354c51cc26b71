-- Migration: 00007_grounded_answers
-- Purpose: grounded answers (issue 12). An assistant reply from a Mistral agent cites sources (document
-- library files, web pages); they are stored with the reply and returned by the history call:
--   * public.message_sources_valid(jsonb): the one definition of a valid messages.sources value, an array of
--     at most 100 objects {"id","title","url"?,"snippet"?} of bounded strings, ids unique, url absolute
--     http(s); used by a check on messages.sources and by end_turn;
--   * end_turn gains `p_sources jsonb default null` (the 6-argument function is dropped and the 7-argument
--     one created: a call by parameter names without p_sources, as supabase-js makes, still resolves);
--   * session_history returns "sources" on the messages that have any.
-- Affects: public.messages (one check constraint), public.end_turn (dropped and created), public.session_history
-- (replaced, same signature and parameter names), public.message_sources_valid (new).
-- Security: all three functions are security invoker with search_path = '' and executable by the service
-- role only (the proxy); the check runs for whoever writes messages, which is the service role.

-- message_sources_valid: true for null and for a well-formed list. The proxy keeps well inside these bounds
-- (src/server/upstream/sources.ts), so a list it sends is never refused.
create function public.message_sources_valid(p_sources jsonb)
returns boolean
language sql
immutable
parallel safe
security invoker
set search_path = ''
as $$
  select p_sources is null or (
    jsonb_typeof(p_sources) = 'array'
    and jsonb_array_length(p_sources) <= 100
    and octet_length(p_sources::text) <= 262144
    and not exists (
      select 1
      from jsonb_array_elements(p_sources) as s(item)
      where jsonb_typeof(s.item) <> 'object'
        or jsonb_typeof(s.item -> 'id') is distinct from 'string'
        or jsonb_typeof(s.item -> 'title') is distinct from 'string'
        or char_length(s.item ->> 'id') not between 1 and 32
        or char_length(s.item ->> 'title') not between 1 and 1000
        or (s.item ? 'url' and (
              jsonb_typeof(s.item -> 'url') <> 'string'
              or char_length(s.item ->> 'url') > 4096
              or (s.item ->> 'url') !~* '^https?://[^/?#[:space:]]'))
        or (s.item ? 'snippet' and (
              jsonb_typeof(s.item -> 'snippet') <> 'string'
              or char_length(s.item ->> 'snippet') > 4000))
        or exists (
          select 1 from jsonb_object_keys(s.item) as k(key) where k.key not in ('id', 'title', 'url', 'snippet'))
    )
    and (select count(distinct s.item ->> 'id') from jsonb_array_elements(p_sources) as s(item))
        = jsonb_array_length(p_sources)
  );
$$;

comment on function public.message_sources_valid(jsonb) is
  'Whether a messages.sources value is null or an array of at most 100 {"id","title","url"?,"snippet"?} objects (strings, unique ids, url absolute http(s)).';

-- Not valid: rows written before this migration cannot hold sources (nothing wrote them), and validating
-- would scan every message under an exclusive lock. New and updated rows are checked.
alter table public.messages
  add constraint messages_sources_shape_check
    check (sources is null or public.message_sources_valid(sources)) not valid;

drop function public.end_turn(uuid, uuid, text, integer, integer, integer);

-- end_turn: as in 00003 (billed prompt tokens on the user message, the reply with its completion tokens,
-- today's usage in the conversation's shard), and the reply's sources; an empty list stores null
create function public.end_turn(
  p_conversation_id uuid,
  p_user_message_id uuid,
  p_content text,
  p_prompt_tokens integer,
  p_completion_tokens integer,
  p_response_time_ms integer,
  p_sources jsonb default null
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

  insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, sources, created_at)
  values (p_conversation_id, 'assistant', coalesce(p_content, ''), p_completion_tokens, p_response_time_ms, v_sources,
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

-- session_history: as in 00002, with "sources" on the messages that have any
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
      ) || case when t.sources is null then '{}'::jsonb else jsonb_build_object('sources', t.sources) end
      order by t.created_at, t.id
    ),
    '[]'::jsonb
  )
  from (
    select m.id, m.role, m.content, m.sources, m.created_at
    from public.conversations c
    join public.messages m on m.conversation_id = c.id
    where c.agent_id = p_agent_id
      and c.session_id = p_session_id
    order by m.created_at desc, m.id desc
    limit greatest(coalesce(p_limit, 0), 0)
  ) t;
$$;

-- the proxy (service role) only; a new function is executable by PUBLIC until revoked
revoke execute on function public.message_sources_valid(jsonb) from public, anon, authenticated;
revoke execute on function public.end_turn(uuid, uuid, text, integer, integer, integer, jsonb)
  from public, anon, authenticated;
revoke execute on function public.session_history(uuid, text, integer) from public, anon, authenticated;

grant execute on function public.message_sources_valid(jsonb) to service_role;
grant execute on function public.end_turn(uuid, uuid, text, integer, integer, integer, jsonb) to service_role;
grant execute on function public.session_history(uuid, text, integer) to service_role;
