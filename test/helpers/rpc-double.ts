/**
 * An HTTP double of PostgREST's RPC endpoint (what supabase-js `.rpc()` talks to), backed by the REAL
 * SQL functions on a real database. It does what PostgREST does for `POST /rest/v1/rpc/<fn>`:
 * - checks the `apikey` and `Authorization: Bearer` headers (401 otherwise, like the API gateway): the
 *   service key runs as `service_role`; a user's access token (with the anon/publishable key as `apikey`)
 *   is verified as PostgREST does (the project's JWKS, or the legacy HS256 secret) and runs as the token's
 *   role with its claims in `request.jwt.claims`, so `auth.uid()` and row level security see that user;
 * - serves the project's public signing keys at `/auth/v1/.well-known/jwks.json`, as Supabase Auth does;
 * - finds the function in the catalog by name AND argument names (a renamed parameter → 404 PGRST202);
 * - converts the JSON arguments with `json_to_record(...) as a(p_x <catalog type>, …)` — PostgREST's own
 *   way — and calls the function with named arguments, as `service_role` inside one transaction;
 * - answers `to_json(result)` as PostgreSQL renders it, errors as `{code, message, details, hint}` with
 *   PostgREST's SQLSTATE → HTTP status table.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Db } from '../../src/server/db/db.ts';

export interface RpcCall {
  fn: string;
  args: Record<string, unknown>;
  status: number;
}

export interface RpcDouble {
  /** Use as SUPABASE_URL: `http://127.0.0.1:PORT`. */
  url: string;
  serviceKey: string;
  /** Every call answered, in order (tests assert one round trip per step). */
  calls: RpcCall[];
  /** The Authorization header of every `GET /auth/v1/user`. */
  authCalls: string[];
  /** Makes every following call fail like an unreachable database (503 PGRST000) until set back to false. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export interface RpcDoubleOptions {
  db: Db;
  /** The key clients must send; default a fake `sb_secret_…`. */
  serviceKey?: string;
  /** Role the functions run as (PostgREST switches to the JWT's role); default `service_role`. */
  role?: string;
  schema?: string;
  /** The project's anon/publishable key: with a user's access token as Bearer, the call runs as that user. */
  anonKey?: string;
  /** The project's public signing keys (served at /auth/v1/.well-known/jwks.json; user tokens verified with them). */
  jwks?: JSONWebKeySet;
  /** The legacy shared JWT secret (HS256 user tokens). */
  jwtSecret?: string;
}

/** Who a request runs as: a role and the claims PostgREST puts in request.jwt.claims. */
interface Caller {
  role: string;
  claims: JWTPayload;
}

const CLIENT_ROLES = new Set(['anon', 'authenticated', 'service_role']);

interface Signature {
  /** IN argument names and catalog types, in declaration order. */
  args: { name: string; type: string }[];
  /** How many trailing IN arguments have defaults. */
  defaults: number;
  returnsSet: boolean;
}

interface PgErrorLike {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code: string; message: string; details: string | null; hint: string | null },
  ) {
    super(body.message);
  }
}

/** PostgREST's table (docs.postgrest.org, references/errors). */
export function statusForSqlState(code: string): number {
  if (code === '42883' || code === '42P01') return 404;
  if (code === '42501') return 403;
  if (code === '23503' || code === '23505') return 409;
  if (code === '25006') return 405;
  if (code === '53400') return 500;
  if (code === 'P0001') return 400;
  const cls = code.slice(0, 2);
  if (cls === '08' || cls === '53') return 503;
  if (cls === '0L' || cls === '0P' || cls === '28') return 403;
  if (['09', '25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58', 'F0', 'HV', 'P0', 'XX'].includes(cls)) return 500;
  return 400;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startRpcDouble(opts: RpcDoubleOptions): Promise<RpcDouble> {
  const serviceKey = opts.serviceKey ?? 'sb_secret_rpc-double-test-key';
  const role = opts.role ?? 'service_role';
  const schema = opts.schema ?? 'public';
  const calls: RpcCall[] = [];
  const authCalls: string[] = [];
  let down = false;

  async function signatures(fn: string): Promise<Signature[]> {
    const { rows } = await opts.db.query<{ names: string[] | null; modes: string[] | null; types: string[]; defaults: number; retset: boolean }>(
      `select p.proargnames as names, p.proargmodes::text[] as modes,
              array(select format_type(t.oid, null) from unnest(p.proargtypes::oid[]) with ordinality as t(oid, i) order by t.i) as types,
              p.pronargdefaults::int as defaults, p.proretset as retset
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`,
      [schema, fn],
    );
    return rows.map((r) => {
      // proargnames covers all arguments (OUT too when proargmodes is set); proargtypes only the IN ones.
      const inNames = (r.names ?? []).filter((_, i) => !r.modes || ['i', 'b', 'v'].includes(r.modes[i] ?? 'i'));
      return {
        args: r.types.map((type, i) => ({ name: inNames[i] ?? '', type })),
        defaults: r.defaults,
        returnsSet: r.retset,
      };
    });
  }

  function notFound(fn: string, keys: string[]): HttpError {
    const list = [...keys].sort().join(', ');
    return new HttpError(404, {
      code: 'PGRST202',
      message: `Could not find the function ${schema}.${fn}(${list}) in the schema cache`,
      details: `Searched for the function ${schema}.${fn} with parameters ${list} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
      hint: null,
    });
  }

  async function call(fn: string, args: Record<string, unknown>, caller: Caller): Promise<string> {
    const keys = Object.keys(args);
    const match = (await signatures(fn)).find((sig) => {
      const names = sig.args.map((a) => a.name);
      const required = names.slice(0, names.length - sig.defaults);
      return keys.every((k) => names.includes(k)) && required.every((k) => keys.includes(k));
    });
    if (!match) throw notFound(fn, keys);
    const used = match.args.filter((a) => keys.includes(a.name));
    const named = used.map((a) => `${quoteIdent(a.name)} => a.${quoteIdent(a.name)}`).join(', ');
    const record = used.map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ');
    const target = `${quoteIdent(schema)}.${quoteIdent(fn)}(${named})`;
    const argsRecord = `json_to_record($1::json) as a(${record})`;
    let sql: string;
    if (match.returnsSet) {
      const rows = used.length ? `${argsRecord} cross join lateral ${target} f` : `${target} f`;
      sql = `select coalesce(json_agg(r), '[]')::text as body from (select f.* from ${rows}) r`;
    } else {
      sql = `select to_json(${target})::text as body${used.length ? ` from ${argsRecord}` : ''}`;
    }
    return opts.db.transaction(async (tx) => {
      // Like PostgREST: switch to the request's role for this transaction only, with its claims visible.
      await tx.exec(`set local role ${quoteIdent(caller.role)}`);
      await tx.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(caller.claims)]);
      const { rows } = await tx.query<{ body: string | null }>(sql, used.length ? [JSON.stringify(args)] : []);
      return rows[0]?.body ?? 'null';
    });
  }

  const keySet = opts.jwks ? createLocalJWKSet(opts.jwks) : null;
  const secret = opts.jwtSecret ? new TextEncoder().encode(opts.jwtSecret) : null;
  const invalidKey = () =>
    new HttpError(401, { code: 'PGRST301', message: 'Invalid API key', details: null, hint: 'Double check the apikey and Authorization headers.' });

  /** The gateway's key check, then PostgREST's JWT check: who this request runs as. */
  async function authenticate(req: IncomingMessage): Promise<Caller> {
    const apikey = req.headers.apikey;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (apikey === serviceKey && bearer === serviceKey) return { role, claims: { role } };
    if (opts.anonKey === undefined || apikey !== opts.anonKey || !bearer) throw invalidKey();
    if (bearer === opts.anonKey) return { role: 'anon', claims: { role: 'anon' } };
    let claims: JWTPayload;
    try {
      const header = JSON.parse(Buffer.from(bearer.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string };
      if (header.alg === 'HS256' && secret) claims = (await jwtVerify(bearer, secret, { algorithms: ['HS256'] })).payload;
      else if (keySet && header.alg !== 'HS256') claims = (await jwtVerify(bearer, keySet, { algorithms: ['ES256', 'RS256'] })).payload;
      else throw new Error('no key for this algorithm');
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new HttpError(401, {
        code: expired ? 'PGRST303' : 'PGRST301',
        message: expired ? 'JWT expired' : 'JWSError JWSInvalidSignature',
        details: null,
        hint: null,
      });
    }
    const claimRole = typeof claims.role === 'string' ? claims.role : 'anon';
    if (!CLIENT_ROLES.has(claimRole)) throw new HttpError(401, { code: 'PGRST301', message: `role ${claimRole} does not exist`, details: null, hint: null });
    return { role: claimRole, claims };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/auth/v1/.well-known/jwks.json' && opts.jwks) {
      send(200, JSON.stringify(opts.jwks));
      return;
    }
    // Supabase Auth's "who is this token's user": 200 with the user for a valid user token, else 401
    if (req.method === 'GET' && path === '/auth/v1/user') {
      authCalls.push(req.headers.authorization ?? '');
      try {
        const caller = await authenticate(req);
        if (caller.role !== 'authenticated' || typeof caller.claims.sub !== 'string') throw invalidKey();
        send(200, JSON.stringify({ id: caller.claims.sub, email: caller.claims.email ?? null, aud: caller.claims.aud, role: caller.role }));
      } catch {
        send(401, JSON.stringify({ code: 401, error_code: 'bad_jwt', msg: 'invalid JWT: unable to parse or verify signature' }));
      }
      return;
    }
    const m = /^\/rest\/v1\/rpc\/([A-Za-z0-9_]+)$/.exec(path);
    if (req.method !== 'POST' || !m) {
      send(404, JSON.stringify({ code: 'PGRST125', message: `Invalid path specified in request URL`, details: null, hint: null }));
      return;
    }
    const fn = m[1]!;
    let args: Record<string, unknown> = {};
    try {
      const caller = await authenticate(req);
      if (down) throw new HttpError(503, { code: 'PGRST000', message: 'Database connection error. Retrying the connection.', details: null, hint: null });
      const raw = await readBody(req);
      let parsed: unknown;
      try {
        parsed = raw.trim() === '' ? {} : JSON.parse(raw);
      } catch {
        throw new HttpError(400, { code: 'PGRST102', message: 'Empty or invalid json', details: null, hint: null });
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new HttpError(400, { code: 'PGRST102', message: 'Expected a JSON object of named arguments', details: null, hint: null });
      }
      args = parsed as Record<string, unknown>;
      const body = await call(fn, args, caller);
      calls.push({ fn, args, status: 200 });
      send(200, body);
    } catch (err) {
      let httpErr: HttpError;
      if (err instanceof HttpError) httpErr = err;
      else {
        const pgErr = err as PgErrorLike;
        const code = typeof pgErr.code === 'string' ? pgErr.code : 'XX000';
        httpErr = new HttpError(statusForSqlState(code), {
          code,
          message: pgErr.message ?? String(err),
          details: pgErr.detail ?? null,
          hint: pgErr.hint ?? null,
        });
      }
      calls.push({ fn, args, status: httpErr.status });
      send(httpErr.status, JSON.stringify(httpErr.body));
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serviceKey,
    calls,
    authCalls,
    setDown: (d) => {
      down = d;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
