-- Migration: 00001_initial_schema
-- Purpose: the schema of docs "database-schema.md", as given: agents (widget configuration owned by a
-- Supabase user), conversations (one chat session of a visitor with an agent), messages, the
-- agent_statistics view, row level security, and the updated_at trigger.
-- Affects: public.agents, public.conversations, public.messages, public.agent_statistics.
-- Notes: the widget proxy uses the service role (bypasses RLS); owners use the authenticated role and
-- only ever see their own rows. Later changes go to later migrations, never here.

-- agents: configuration of a conversational agent, one owner per agent
create table public.agents (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  name varchar(255) not null,
  role varchar(255) not null default 'assistant',
  instructions text,
  model varchar(100) not null default 'mistral-small-latest',
  temperature decimal(3,2) default 0.7,
  max_tokens integer default 1024,
  top_p decimal(3,2) default 1.0,
  api_key varchar(500) not null,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.agents is 'Conversational agents: Mistral settings and the widget API key.';

create index idx_agents_user_id on public.agents (user_id);
create index idx_agents_api_key on public.agents (api_key);

-- conversations: one chat session between a visitor and an agent
create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  agent_id uuid not null references public.agents (id) on delete cascade,
  session_id varchar(255) not null,
  visitor_id varchar(255),
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.conversations is 'Chat sessions between widget visitors and agents.';

create index idx_conversations_agent_id on public.conversations (agent_id);
create index idx_conversations_session_id on public.conversations (session_id);

-- messages: what the visitor and the agent said
create table public.messages (
  id uuid primary key default gen_random_uuid(),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  role varchar(50) not null,
  content text not null,
  tokens_used integer,
  response_time_ms integer,
  created_at timestamptz not null default now()
);
comment on table public.messages is 'Messages of a conversation ("user" or "assistant").';

create index idx_messages_conversation_id on public.messages (conversation_id);
create index idx_messages_created_at on public.messages (created_at);

-- row level security: on every table; owners reach their rows through agents.user_id
alter table public.agents enable row level security;
alter table public.conversations enable row level security;
alter table public.messages enable row level security;

create policy "Owners can view their agents"
  on public.agents for select to authenticated
  using (user_id = (select auth.uid()));

create policy "Owners can create their agents"
  on public.agents for insert to authenticated
  with check (user_id = (select auth.uid()));

create policy "Owners can update their agents"
  on public.agents for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

create policy "Owners can delete their agents"
  on public.agents for delete to authenticated
  using (user_id = (select auth.uid()));

create policy "Owners can view conversations of their agents"
  on public.conversations for select to authenticated
  using (
    agent_id in (select a.id from public.agents a where a.user_id = (select auth.uid()))
  );

create policy "Owners can view messages of their agents"
  on public.messages for select to authenticated
  using (
    conversation_id in (
      select c.id
      from public.conversations c
      join public.agents a on a.id = c.agent_id
      where a.user_id = (select auth.uid())
    )
  );

-- updated_at trigger on agents and conversations
create or replace function public.update_updated_at_column()
returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

-- a trigger function is never called directly
revoke execute on function public.update_updated_at_column() from public, anon, authenticated;

create trigger update_agents_updated_at
  before update on public.agents
  for each row execute function public.update_updated_at_column();

create trigger update_conversations_updated_at
  before update on public.conversations
  for each row execute function public.update_updated_at_column();

-- agent_statistics: per-agent totals; security_invoker so each owner only counts rows RLS lets them see
create view public.agent_statistics
with (security_invoker = true)
as
select
  a.id as agent_id,
  a.user_id,
  a.name,
  count(distinct c.id) as total_conversations,
  count(m.id) as total_messages,
  sum(case when m.role = 'user' then 1 else 0 end) as user_messages,
  sum(case when m.role = 'assistant' then 1 else 0 end) as assistant_messages,
  sum(m.tokens_used) as total_tokens_used,
  avg(m.response_time_ms) as avg_response_time_ms,
  max(c.created_at) as last_conversation_date
from public.agents a
left join public.conversations c on c.agent_id = a.id
left join public.messages m on m.conversation_id = c.id
group by a.id, a.user_id, a.name;

revoke all on public.agent_statistics from anon;
grant select on public.agent_statistics to authenticated, service_role;
