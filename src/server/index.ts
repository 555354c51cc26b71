/**
 * `mistral-agent-chat/server`: the portable proxy entry (Node, Deno, Supabase Edge Functions).
 * Importing it loads no Node-only module: PGlite, `pg` and the migration reader are loaded by
 * createRuntime only when the chosen storage needs them.
 */
export { createApp } from './app.ts';
export { createRuntime, storageMode, type Runtime, type RuntimeOptions } from './runtime.ts';
export { loadConfig, resolveSupabaseKey, resolveSupabaseAnonKey, type Config } from './config.ts';
export { createOwnerApi, ownerApiFor, type OwnerApi, type OwnerApiOptions, type OwnerConfigAnswer } from './owner/owner-api.ts';
export { consoleLogger, memoryLogger, type Logger } from './log.ts';
export { ApiError } from './errors.ts';
export { resolveClientIp, supabaseClientIp, SUPABASE_CLIENT_IP_HEADER } from './http/client-ip.ts';
export { SqlStore } from './store/sql-store.ts';
export { SupabaseStore, SupabaseRpcError, type SupabaseStoreOptions } from './store/supabase-store.ts';
export { createMistralUpstream, type MistralUpstreamOptions } from './upstream/mistral.ts';
export type {
  AgentPublic,
  AgentSettings,
  BeginTurnInput,
  BeginTurnResult,
  EndTurnInput,
  HistoryItem,
  Store,
} from './store/store.ts';
export type { Db } from './db/db.ts';
export type {
  Upstream,
  UpstreamEvent,
  UpstreamRequest,
  UpstreamResult,
  UpstreamOptions,
  UpstreamMessage,
  UpstreamYield,
} from './upstream/upstream.ts';
export {
  MistralAdmin,
  MistralAdminError,
  agentBody,
  documentState,
  type MistralAdminOptions,
  type Library,
  type LibraryDocument,
  type MistralAgent,
  type AgentBody,
} from './mistral-admin/client.ts';
export * from '../protocol.ts';
