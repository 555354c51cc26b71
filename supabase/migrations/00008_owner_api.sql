-- Migration: 00008_owner_api
-- Purpose: the owner API v1 (issue 10; DESIGN.md "Owner API v1").
--   * the owner's writes and single reads as security-invoker functions answering jsonb in the API's
--     shapes: owner_agents, owner_agent, owner_create_agent, owner_update_agent, owner_delete_agent,
--     owner_rotate_agent_key, owner_new_identity_secret, owner_conversation, owner_delete_conversation.
--     They run as the caller: on pg/PGlite inside the API's `set local role authenticated` transaction, on
--     Supabase through PostgREST with the owner's own token. Row level security (00001, 00006) decides what
--     an owner sees and changes; nothing here checks ownership, and a row the caller cannot see answers
--     null / false (the API's 404). Bad input raises 22023 (invalid_parameter_value) naming the field.
--     Keys and secrets are made by the server (Web Crypto, as the CLI makes keys) and passed in; their
--     shape is checked here.
--   * local auth (the Node server, pg or PGlite): auth.users.encrypted_password (bcrypt, as Supabase Auth
--     keeps it; added only where missing), failed sign-ins counted per email and per client IP
--     (local_sign_in_failures, local_sign_in_begin, local_sign_in_succeeded), and the generated token
--     signing secret (local_auth_settings, local_auth_jwt_secret) used when OWNER_JWT_SECRET is unset.
-- Affects: auth.users (+ encrypted_password where missing), public.local_sign_in_failures and
-- public.local_auth_settings (new), the functions above (new).
-- Security: every function is security invoker with search_path = ''. The owner functions are executable by
-- authenticated (and service_role); the sign-in and settings functions and tables by service_role only
-- (RLS on, no policy: invisible to anon and authenticated).

-- ---------------------------------------------------------------------------------------------------
-- Local auth: passwords. On Supabase the column exists (and auth.users belongs to Supabase Auth, so even
-- an `add column if not exists` would be refused there): only add it where it is missing.
do $$
begin
  -- pg_attribute, not information_schema.columns: the latter hides columns the migrating role has no rights on
  if not exists (
    select 1 from pg_catalog.pg_attribute
    where attrelid = 'auth.users'::regclass and attname = 'encrypted_password' and not attisdropped
  ) then
    alter table auth.users add column encrypted_password varchar(255);
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------------
-- Failed sign-ins (POST /v1/owner/token): one row per attempt not yet known to have succeeded, shared by
-- every instance of the server. 5 per email or 20 per client IP in 15 minutes, then 429.
create table public.local_sign_in_failures (
  id bigint generated always as identity primary key,
  email text not null,
  client_ip text,
  attempted_at timestamptz not null default now()
);
comment on table public.local_sign_in_failures is
  'Owner sign-in attempts that failed (or are under way) in the last 15 minutes, per email and client IP (server only).';

create index idx_local_sign_in_failures_email on public.local_sign_in_failures (email, attempted_at);
create index idx_local_sign_in_failures_ip on public.local_sign_in_failures (client_ip, attempted_at);

alter table public.local_sign_in_failures enable row level security;
revoke all on table public.local_sign_in_failures from public, anon, authenticated;
grant select, insert, update, delete on table public.local_sign_in_failures to service_role;

-- local_sign_in_begin: 0 when this attempt may go ahead (it is counted as a failure now, atomically with the
-- check, so concurrent guesses cannot all slip under the limit; local_sign_in_succeeded takes it back), else
-- the seconds until the oldest failure that blocks leaves the 15-minute window. p_client_ip null: no per-IP
-- limit (the address is unknown).
create or replace function public.local_sign_in_begin(p_email text, p_client_ip text)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  c_window constant interval := interval '15 minutes';
  v_email text := lower(btrim(coalesce(p_email, '')));
  v_email_at timestamptz;
  v_ip_at timestamptz;
  v_until timestamptz;
begin
  -- one at a time per email: the check and the insert below cannot interleave for the same email
  perform pg_advisory_xact_lock(hashtext('mistral-agent-chat:sign-in:' || v_email));
  delete from public.local_sign_in_failures f where f.attempted_at < now() - c_window;

  -- the 5th most recent failure of this email (the one whose expiry lifts the block), and the 20th of this IP
  select f.attempted_at into v_email_at
  from public.local_sign_in_failures f
  where f.email = v_email and f.attempted_at >= now() - c_window
  order by f.attempted_at desc
  offset 4 limit 1;
  if p_client_ip is not null then
    select f.attempted_at into v_ip_at
    from public.local_sign_in_failures f
    where f.client_ip = p_client_ip and f.attempted_at >= now() - c_window
    order by f.attempted_at desc
    offset 19 limit 1;
  end if;

  v_until := greatest(v_email_at, v_ip_at) + c_window;
  if v_until is not null then
    return greatest(1, ceil(extract(epoch from (v_until - now())))::integer);
  end if;

  insert into public.local_sign_in_failures (email, client_ip) values (v_email, p_client_ip);
  return 0;
end;
$$;

-- local_sign_in_succeeded: the password was right: this email's failures are forgotten (its IP's stay)
create or replace function public.local_sign_in_succeeded(p_email text)
returns void
language sql
volatile
security invoker
set search_path = ''
as $$
  delete from public.local_sign_in_failures f where f.email = lower(btrim(coalesce(p_email, '')));
$$;

-- ---------------------------------------------------------------------------------------------------
-- Server settings: the token signing secret generated on first start when OWNER_JWT_SECRET is unset.
create table public.local_auth_settings (
  name text primary key,
  value text not null,
  created_at timestamptz not null default now(),
  constraint local_auth_settings_name_check check (name ~ '^[a-z][a-z0-9_]{0,62}$')
);
comment on table public.local_auth_settings is 'Owner API settings the server keeps (the generated token signing secret); server only.';

alter table public.local_auth_settings enable row level security;
revoke all on table public.local_auth_settings from public, anon, authenticated;
grant select, insert, update, delete on table public.local_auth_settings to service_role;

-- local_auth_jwt_secret: the stored secret; p_candidate (made by the server) is kept when none is stored yet,
-- so every instance starting at once ends up with the same one
create or replace function public.local_auth_jwt_secret(p_candidate text)
returns text
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_secret text;
begin
  if p_candidate is null or char_length(p_candidate) < 32 then
    raise exception 'candidate must be at least 32 characters' using errcode = '22023';
  end if;
  insert into public.local_auth_settings (name, value) values ('owner_jwt_secret', p_candidate)
  on conflict (name) do nothing;
  select s.value into v_secret from public.local_auth_settings s where s.name = 'owner_jwt_secret';
  return v_secret;
end;
$$;

-- ---------------------------------------------------------------------------------------------------
-- Owner functions. An Agent is every column of agents except identity_secret, shown as has_identity_secret.

-- owner_agent_json: one agent row as the API's Agent (immutable helper; no table access)
create or replace function public.owner_agent_json(p_agent public.agents)
returns jsonb
language sql
immutable
security invoker
set search_path = ''
as $$
  select to_jsonb(p_agent) - 'identity_secret'
         || jsonb_build_object('has_identity_secret', p_agent.identity_secret is not null);
$$;

-- owner_agent_fields_check: raises 22023 naming the first field an owner may not set, or a wrong JSON type
create or replace function public.owner_agent_fields_check(p_fields jsonb)
returns void
language plpgsql
immutable
security invoker
set search_path = ''
as $$
declare
  v_key text;
  v_type text;
  v_want text;
begin
  if p_fields is null or jsonb_typeof(p_fields) <> 'object' then
    raise exception 'the body must be a JSON object' using errcode = '22023';
  end if;
  for v_key, v_type in select k, jsonb_typeof(p_fields -> k) from jsonb_object_keys(p_fields) k loop
    v_want := case v_key
      when 'name' then 'string' when 'role' then 'string' when 'instructions' then 'string'
      when 'model' then 'string' when 'mistral_agent_id' then 'string'
      when 'temperature' then 'number' when 'top_p' then 'number' when 'max_tokens' then 'number'
      when 'rate_limit_session_per_minute' then 'number' when 'rate_limit_ip_per_minute' then 'number'
      when 'daily_token_budget' then 'number' when 'retention_days' then 'number'
      when 'is_active' then 'boolean' when 'identity_required' then 'boolean'
      when 'allowed_origins' then 'array'
    end;
    if v_want is null then
      raise exception '% is not a field an owner may set', v_key using errcode = '22023', hint = v_key;
    end if;
    if v_type = 'null' and v_key in ('name', 'role', 'model', 'is_active', 'identity_required') then
      raise exception '% must not be null', v_key using errcode = '22023', hint = v_key;
    end if;
    if v_type <> 'null' and v_type <> v_want then
      raise exception '% must be a %', v_key, v_want using errcode = '22023', hint = v_key;
    end if;
  end loop;
end;
$$;

-- owner_agents: {"agents":[Agent]}, oldest first
create or replace function public.owner_agents()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object('agents', coalesce(jsonb_agg(public.owner_agent_json(a) order by a.created_at, a.id), '[]'::jsonb))
  from public.agents a;
$$;

-- owner_agent: Agent, or null
create or replace function public.owner_agent(p_agent_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select public.owner_agent_json(a) from public.agents a where a.id = p_agent_id;
$$;

-- owner_create_agent: the new Agent, owned by the caller (auth.uid(); RLS checks it), with p_api_key.
-- Columns absent from p_fields take their defaults.
create or replace function public.owner_create_agent(p_fields jsonb, p_api_key text)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_cols text;
  v_vals text;
  v_agent jsonb;
begin
  perform public.owner_agent_fields_check(p_fields);
  if p_api_key is null or p_api_key !~ '^mac_[A-Za-z0-9_-]{43}$' then
    raise exception 'api_key must be a key made by the server' using errcode = '22023', hint = 'api_key';
  end if;
  if jsonb_typeof(p_fields -> 'name') is distinct from 'string' then
    raise exception 'name is required' using errcode = '22023', hint = 'name';
  end if;
  if auth.uid() is null then
    raise exception 'only a signed-in owner creates agents' using errcode = '42501';
  end if;
  -- column names come from jsonb keys checked above against the fixed list, and are quoted anyway
  select string_agg(format('%I', k), ', ' order by k), string_agg(format('r.%I', k), ', ' order by k)
  into v_cols, v_vals
  from jsonb_object_keys(p_fields) k;
  execute format(
    'insert into public.agents as a (user_id, api_key, %s) select (select auth.uid()), $1, %s from jsonb_populate_record(null::public.agents, $2) r returning public.owner_agent_json(a)',
    v_cols, v_vals)
  into v_agent
  using p_api_key, p_fields;
  return v_agent;
end;
$$;

-- owner_update_agent: the changed Agent, or null. Only the fields present change; JSON null clears a
-- nullable column. id, user_id, api_key, identity_secret and the timestamps cannot be set here.
create or replace function public.owner_update_agent(p_agent_id uuid, p_fields jsonb)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_agent jsonb;
begin
  perform public.owner_agent_fields_check(p_fields);
  if p_fields = '{}'::jsonb then
    -- nothing to change: the agent as it is (updated_at untouched)
    return (select public.owner_agent_json(a) from public.agents a where a.id = p_agent_id);
  end if;
  update public.agents a
  set (name, role, instructions, model, temperature, max_tokens, top_p, is_active, allowed_origins,
       rate_limit_session_per_minute, rate_limit_ip_per_minute, daily_token_budget, mistral_agent_id,
       identity_required, retention_days)
    = (select r.name, r.role, r.instructions, r.model, r.temperature, r.max_tokens, r.top_p, r.is_active,
              r.allowed_origins, r.rate_limit_session_per_minute, r.rate_limit_ip_per_minute,
              r.daily_token_budget, r.mistral_agent_id, r.identity_required, r.retention_days
       from jsonb_populate_record(a, p_fields) r)
  where a.id = p_agent_id
  returning public.owner_agent_json(a) into v_agent;
  return v_agent;
end;
$$;

-- owner_delete_agent: true when deleted (its conversations, messages and counters go with it)
create or replace function public.owner_delete_agent(p_agent_id uuid)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  delete from public.agents a where a.id = p_agent_id;
  return found;
end;
$$;

-- owner_rotate_agent_key: the Agent with p_api_key as its key, or null
create or replace function public.owner_rotate_agent_key(p_agent_id uuid, p_api_key text)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_agent jsonb;
begin
  if p_api_key is null or p_api_key !~ '^mac_[A-Za-z0-9_-]{43}$' then
    raise exception 'api_key must be a key made by the server' using errcode = '22023', hint = 'api_key';
  end if;
  update public.agents a set api_key = p_api_key where a.id = p_agent_id
  returning public.owner_agent_json(a) into v_agent;
  return v_agent;
end;
$$;

-- owner_new_identity_secret: the Agent plus "identity_secret" (the only time it is shown), or null
create or replace function public.owner_new_identity_secret(p_agent_id uuid, p_secret text)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_agent jsonb;
begin
  update public.agents a set identity_secret = p_secret where a.id = p_agent_id
  returning public.owner_agent_json(a) into v_agent;
  return v_agent || jsonb_build_object('identity_secret', p_secret);
end;
$$;

-- owner_conversation: {"conversation":{inbox fields + "agent_id"},"messages":[{"id","role","content",
-- "sources","tokens_used","response_time_ms","created_at","feedback":{"rating","comment"} or null}]}
-- oldest first, or null
create or replace function public.owner_conversation(p_conversation_id uuid)
returns jsonb
language sql
stable
security invoker
set search_path = ''
set jit = off
as $$
  select jsonb_build_object(
    'conversation', jsonb_build_object(
      'id', c.id,
      'agent_id', c.agent_id,
      'session_id', c.session_id,
      'visitor_id', c.visitor_id,
      'user_ref', c.user_ref,
      'metadata', c.metadata,
      'created_at', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'updated_at', to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'message_count', (select count(*) from public.messages m where m.conversation_id = c.id)),
    'messages', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', m.id,
               'role', m.role,
               'content', m.content,
               'sources', m.sources,
               'tokens_used', m.tokens_used,
               'response_time_ms', m.response_time_ms,
               'created_at', to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'feedback', (
                 select jsonb_build_object('rating', f.rating, 'comment', f.comment)
                 from public.message_feedback f
                 where f.message_id = m.id)
             ) order by m.created_at, m.id)
      from public.messages m
      where m.conversation_id = c.id), '[]'::jsonb))
  from public.conversations c
  where c.id = p_conversation_id;
$$;

-- owner_delete_conversation: true when erased (messages and ratings go with it; statistics follow, 00006)
create or replace function public.owner_delete_conversation(p_conversation_id uuid)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  delete from public.conversations c where c.id = p_conversation_id;
  return found;
end;
$$;

-- ---------------------------------------------------------------------------------------------------
-- Grants. Default privileges give anon and authenticated every new function: take that back first.
revoke execute on function public.local_sign_in_begin(text, text) from public, anon, authenticated;
revoke execute on function public.local_sign_in_succeeded(text) from public, anon, authenticated;
revoke execute on function public.local_auth_jwt_secret(text) from public, anon, authenticated;
grant execute on function public.local_sign_in_begin(text, text) to service_role;
grant execute on function public.local_sign_in_succeeded(text) to service_role;
grant execute on function public.local_auth_jwt_secret(text) to service_role;

revoke execute on function public.owner_agent_json(public.agents) from public, anon;
revoke execute on function public.owner_agent_fields_check(jsonb) from public, anon;
revoke execute on function public.owner_agents() from public, anon;
revoke execute on function public.owner_agent(uuid) from public, anon;
revoke execute on function public.owner_create_agent(jsonb, text) from public, anon;
revoke execute on function public.owner_update_agent(uuid, jsonb) from public, anon;
revoke execute on function public.owner_delete_agent(uuid) from public, anon;
revoke execute on function public.owner_rotate_agent_key(uuid, text) from public, anon;
revoke execute on function public.owner_new_identity_secret(uuid, text) from public, anon;
revoke execute on function public.owner_conversation(uuid) from public, anon;
revoke execute on function public.owner_delete_conversation(uuid) from public, anon;
grant execute on function public.owner_agent_json(public.agents) to authenticated, service_role;
grant execute on function public.owner_agent_fields_check(jsonb) to authenticated, service_role;
grant execute on function public.owner_agents() to authenticated, service_role;
grant execute on function public.owner_agent(uuid) to authenticated, service_role;
grant execute on function public.owner_create_agent(jsonb, text) to authenticated, service_role;
grant execute on function public.owner_update_agent(uuid, jsonb) to authenticated, service_role;
grant execute on function public.owner_delete_agent(uuid) to authenticated, service_role;
grant execute on function public.owner_rotate_agent_key(uuid, text) to authenticated, service_role;
grant execute on function public.owner_new_identity_secret(uuid, text) to authenticated, service_role;
grant execute on function public.owner_conversation(uuid) to authenticated, service_role;
grant execute on function public.owner_delete_conversation(uuid) to authenticated, service_role;
