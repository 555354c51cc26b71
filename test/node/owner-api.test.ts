/**
 * The owner API contract (owner-api.suite.ts) on three targets, the app in process each time:
 *  - PGlite and real PostgreSQL, local auth: tokens from `POST /v1/owner/token`, owner SQL run by asOwner;
 *  - the Supabase path: the OwnerStore calls PostgREST (test/helpers/rpc-double.ts, the real SQL on a real
 *    database) with the owner's own token, which the double verifies as PostgREST would and runs as that
 *    owner; tokens signed like Supabase Auth's (ES256, published as JWKS) and the legacy HS256 secret.
 * Plus local sign-in: the same answer for an unknown email and a wrong password, 429 after 5 failures per
 * email or 20 per IP (shared through PostgreSQL), the generated signing secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { createOwnerApi } from '../../src/server/owner/owner-api.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { SupabaseStore } from '../../src/server/store/supabase-store.ts';
import { hsToken, insertOwner, supabaseSigningKey, unsignedToken, userClaims, type TestOwner } from '../helpers/owners.ts';
import { migratedTestDatabase, pgAvailable, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb } from '../helpers/pglite.ts';
import { startRpcDouble } from '../helpers/rpc-double.ts';
import { ownerApiSuite, type OwnerRequest, type OwnerTarget } from './owner-api.suite.ts';

const pgSkipReason = await pgSkip();
const BASE = 'http://owner.test';

type AppFetch = (req: Request) => Response | Promise<Response>;

function requester(fetchApp: AppFetch) {
  return (path: string, init: OwnerRequest = {}) => {
    const { token, ip, json, headers, ...rest } = init;
    const h = new Headers(headers);
    if (token) h.set('Authorization', `Bearer ${token}`);
    if (ip) h.set('X-Forwarded-For', ip);
    let body = rest.body;
    if (json !== undefined) {
      h.set('Content-Type', 'application/json');
      body = JSON.stringify(json);
    }
    return Promise.resolve(fetchApp(new Request(BASE + path, { ...rest, headers: h, body })));
  };
}

/** Local auth over a Db: the signing secret generated and stored on first use (OWNER_JWT_SECRET unset). */
async function localTarget(open: () => Promise<MigratedDb>): Promise<OwnerTarget> {
  const m = await open();
  const config = loadConfig({ TRUST_PROXY: '1' });
  const owner = createOwnerApi({ config, storage: { db: m.db } });
  const { app } = createApp({ store: new SqlStore(m.db), upstream: null, config, log: memoryLogger(), owner });
  const other = createApp({ store: new SqlStore(m.db), upstream: null, config, log: memoryLogger(), owner }).app;
  const fetch = requester((req) => app.fetch(req));
  const secret = async () => (await m.db.query<{ value: string }>("select value from public.local_auth_settings where name = 'owner_jwt_secret'")).rows[0]!.value;
  return {
    auth: 'local',
    db: m.db,
    fetch,
    fetchOtherInstance: requester((req) => other.fetch(req)),
    async signIn(o) {
      const res = await fetch('/v1/owner/token', { method: 'POST', json: { email: o.email, password: o.password } });
      const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'bearer');
      assert.equal(body.expires_in, 3600);
      return body.access_token;
    },
    async badTokens(o) {
      const s = await secret();
      const claims = { sub: o.id, email: o.email, role: 'authenticated', aud: 'authenticated' };
      const good = await hsToken(s, claims);
      const [h, p, sig] = good.split('.');
      return {
        forged: `${h}.${p}.${sig!.slice(0, -4)}${sig!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
        'other subject, same signature': `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: crypto.randomUUID() })).toString('base64url')}.${sig}`,
        'alg none': unsignedToken(claims),
        expired: await hsToken(s, claims, { expiresIn: -60 }),
        HS512: await hsToken(s, claims, { alg: 'HS512' }),
        'wrong secret': await hsToken('another-secret-of-the-same-length-'.padEnd(s.length, 'x'), claims),
        'anon role': await hsToken(s, { role: 'anon', aud: 'authenticated' }),
        'no audience': await hsToken(s, { sub: o.id, role: 'authenticated' }),
      };
    },
    cleanup: () => m.cleanup(),
  };
}

const LEGACY_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

/** The Edge Function's wiring: SupabaseStore for the widget, SupabaseOwnerStore with the owner's token. */
async function supabaseTarget(opts: { legacySecretInApp?: boolean } = {}): Promise<OwnerTarget & { authCalls: string[] }> {
  const m = (await pgAvailable()) ? await migratedTestDatabase() : await migratedPgliteDb();
  const key = await supabaseSigningKey();
  const anonKey = 'sb_publishable_owner-api-test';
  const double = await startRpcDouble({ db: m.db, anonKey, jwks: key.jwks, jwtSecret: LEGACY_SECRET });
  const config = loadConfig({
    SUPABASE_URL: double.url,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: double.serviceKey }),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: anonKey }),
    SUPABASE_JWT_SECRET: opts.legacySecretInApp === false ? undefined : LEGACY_SECRET,
    TRUST_PROXY: '1',
  });
  const owner = createOwnerApi({ config, storage: 'supabase' });
  const store = new SupabaseStore({ url: double.url, key: double.serviceKey });
  const { app } = createApp({ store, upstream: null, config, log: memoryLogger(), owner });
  const second = createApp({ store, upstream: null, config, log: memoryLogger(), owner }).app;
  const other = await supabaseSigningKey('test-key-1'); // same kid, another key: a forgery
  return {
    auth: 'supabase',
    authCalls: double.authCalls,
    db: m.db,
    fetch: requester((req) => app.fetch(req)),
    fetchOtherInstance: requester((req) => second.fetch(req)),
    signIn: (o) => key.sign(userClaims(o)),
    async badTokens(o) {
      const claims = userClaims(o);
      const good = await key.sign(claims);
      const [h, p, sig] = good.split('.');
      return {
        forged: await other.sign(claims),
        'tampered signature': `${h}.${p}.${sig!.slice(0, -4)}${sig!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
        'alg none': unsignedToken(claims),
        expired: await key.sign(claims, { expiresIn: -60 }),
        'HS512 with the legacy secret': await hsToken(LEGACY_SECRET, claims, { alg: 'HS512' }),
        'HS256 with a wrong secret': await hsToken('not-the-project-secret-but-long-enough-to-sign', claims),
        'the service role': await hsToken(LEGACY_SECRET, { role: 'service_role', aud: 'authenticated' }),
        'the anon role': await key.sign({ role: 'anon', aud: 'authenticated' }),
      };
    },
    async cleanup() {
      await double.close();
      await m.cleanup();
    },
  };
}

ownerApiSuite('owner API on PGlite (local auth)', () => localTarget(migratedPgliteDb));
ownerApiSuite('owner API on PostgreSQL (local auth)', () => localTarget(() => migratedTestDatabase()), pgSkipReason);
ownerApiSuite(`owner API on the Supabase path (PostgREST double on ${pgSkipReason ? 'PGlite' : 'PostgreSQL'})`, supabaseTarget);

describe('owner API on the Supabase path: legacy HS256 project tokens', () => {
  let t: OwnerTarget;
  before(async () => {
    t = await supabaseTarget();
  });
  after(() => t?.cleanup());

  it('accepts an access token signed with SUPABASE_JWT_SECRET, and PostgREST runs it as that owner', async () => {
    const o = await insertOwner(t.db, 'legacy@example.test', null);
    const token = await hsToken(LEGACY_SECRET, userClaims(o));
    const made = await t.fetch('/v1/owner/agents', { method: 'POST', token, json: { name: 'Legacy' } });
    const agent = (await made.json()) as { user_id: string };
    assert.equal(made.status, 201, JSON.stringify(agent));
    assert.equal(agent.user_id, o.id);
  });

  it('without SUPABASE_JWT_SECRET, asks the project’s Auth server about an HS256 token (and remembers the answer)', async () => {
    const u = await supabaseTarget({ legacySecretInApp: false });
    try {
      const o = await insertOwner(u.db, 'legacy-no-secret@example.test', null);
      const token = await hsToken(LEGACY_SECRET, userClaims(o));
      const me = await u.fetch('/v1/owner/me', { token });
      assert.deepEqual(await me.json(), { id: o.id, email: o.email });
      assert.equal((await u.fetch('/v1/owner/agents', { token })).status, 200);
      assert.equal(u.authCalls.length, 1, 'one question to the Auth server for two requests');
      const forged = await hsToken('not-the-project-secret-but-long-enough-to-sign', userClaims(o));
      assert.equal((await u.fetch('/v1/owner/me', { token: forged })).status, 401);
      const expired = await hsToken(LEGACY_SECRET, userClaims(o), { expiresIn: -5 });
      assert.equal((await u.fetch('/v1/owner/me', { token: expired })).status, 401);
    } finally {
      await u.cleanup();
    }
  });

  it('has no local sign-in: POST /v1/owner/token answers 404', async () => {
    const res = await t.fetch('/v1/owner/token', { method: 'POST', json: { email: 'a@example.test', password: 'x' } });
    assert.equal(res.status, 404);
  });
});

function signInSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let t: OwnerTarget;
    let db: Db;
    let owner: TestOwner;
    before(async () => {
      t = await localTarget(open);
      db = t.db;
      owner = await insertOwner(db, 'signin@example.test', 'the right password');
    });
    after(() => t?.cleanup());

    const signIn = (email: string, password: string, ip = '198.51.100.1') => t.fetch('/v1/owner/token', { method: 'POST', ip, json: { email, password } });

    it('issues a one-hour HS256 token with sub, email, role and aud authenticated, exp', async () => {
      const res = await signIn('SignIn@Example.test', 'the right password');
      const body = (await res.json()) as { access_token: string };
      assert.equal(res.status, 200, 'the email matches whatever its case');
      const [h, p] = body.access_token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8')) as Record<string, unknown>);
      assert.equal(h!.alg, 'HS256');
      assert.equal(p!.sub, owner.id);
      assert.equal(p!.email, owner.email);
      assert.equal(p!.role, 'authenticated');
      assert.equal(p!.aud, 'authenticated');
      assert.ok(Math.abs((p!.exp as number) - Date.now() / 1000 - 3600) < 60);
      const stored = await db.query<{ n: number }>("select count(*)::int as n from public.local_sign_in_failures where email = 'signin@example.test'");
      assert.equal(stored.rows[0]!.n, 0, 'a success leaves no failure behind');
    });

    it('answers an unknown email and a wrong password alike', async () => {
      const unknown = await signIn('nobody@example.test', 'whatever password', '198.51.100.2');
      const wrong = await signIn(owner.email, 'a wrong password', '198.51.100.2');
      assert.equal(unknown.status, 401);
      assert.equal(wrong.status, 401);
      const a = ((await unknown.json()) as { error: Record<string, unknown> }).error;
      const b = ((await wrong.json()) as { error: Record<string, unknown> }).error;
      assert.equal(a.code, 'invalid_credentials');
      assert.deepEqual({ ...a, request_id: null }, { ...b, request_id: null });
      await db.query('select public.local_sign_in_succeeded($1)', [owner.email]);
    });

    it('refuses bad sign-in bodies naming the field', async () => {
      for (const [json, field] of [
        [{ password: 'x' }, 'email'],
        [{ email: 'a@example.test' }, 'password'],
        [{ email: 5, password: 'x' }, 'email'],
        [{ email: 'a@example.test', password: 'x', remember: true }, 'remember'],
      ] as const) {
        const res = await t.fetch('/v1/owner/token', { method: 'POST', json });
        const body = (await res.json()) as { error: { code: string; field: string } };
        assert.equal(res.status, 400);
        assert.equal(body.error.field, field);
      }
    });

    it('429 with Retry-After after 5 failures for one email, even with the right password; other emails go on', async () => {
      const email = 'limited@example.test';
      await insertOwner(db, email, 'the limited password');
      for (let i = 0; i < 5; i++) assert.equal((await signIn(email, `wrong ${i}`, `203.0.113.${i + 1}`)).status, 401);
      const blocked = await signIn(email, 'the limited password', '203.0.113.99');
      const body = (await blocked.json()) as { error: { code: string } };
      assert.equal(blocked.status, 429);
      assert.equal(body.error.code, 'rate_limited');
      const retry = Number(blocked.headers.get('Retry-After'));
      assert.ok(retry > 800 && retry <= 900, `Retry-After ${retry}`);
      assert.equal((await signIn(owner.email, 'the right password', '203.0.113.99')).status, 200, 'another email is not blocked');
      // the window is shared through PostgreSQL: once its failures are older than 15 minutes, the owner signs in
      await db.query("update public.local_sign_in_failures set attempted_at = now() - interval '16 minutes' where email = $1", [email]);
      assert.equal((await signIn(email, 'the limited password', '203.0.113.99')).status, 200);
    });

    it('429 after 20 failures from one IP, whichever emails; other IPs go on', async () => {
      const ip = '192.0.2.77';
      for (let i = 0; i < 20; i++) assert.equal((await signIn(`guess-${i}@example.test`, 'guess', ip)).status, 401);
      const blocked = await signIn(owner.email, 'the right password', ip);
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.headers.get('Retry-After')) > 0);
      assert.equal((await signIn(owner.email, 'the right password', '192.0.2.78')).status, 200);
    });

    it('keeps one generated signing secret in the database (service role only), used by every instance', async () => {
      const { rows } = await db.query<{ value: string }>("select value from public.local_auth_settings where name = 'owner_jwt_secret'");
      assert.ok(rows[0] && rows[0].value.length >= 32, 'generated on first use');
      const token = await t.signIn(owner);
      // a second server on the same database verifies the first one's tokens
      const second = await localTarget(async () => ({ db, cleanup: async () => {} }));
      const me = await second.fetch('/v1/owner/me', { token });
      assert.equal(me.status, 200);
      let hidden = 'readable';
      try {
        await db.transaction(async (tx) => {
          await tx.exec('set local role authenticated');
          await tx.query('select value from public.local_auth_settings');
        });
      } catch (err) {
        hidden = String((err as { code?: string }).code);
      }
      assert.equal(hidden, '42501', 'owners cannot read it');
    });

    it('uses OWNER_JWT_SECRET when set', async () => {
      const config = loadConfig({ OWNER_JWT_SECRET: 'an-operator-chosen-secret-of-32-chars-or-more' });
      const api = createOwnerApi({ config, storage: { db } });
      const token = await hsToken('an-operator-chosen-secret-of-32-chars-or-more', { sub: owner.id, role: 'authenticated', aud: 'authenticated' });
      assert.equal((await api.verify(token)).id, owner.id);
      const stored = await hsToken((await db.query<{ value: string }>("select value from public.local_auth_settings where name = 'owner_jwt_secret'")).rows[0]!.value, { sub: owner.id, role: 'authenticated', aud: 'authenticated' });
      await assert.rejects(api.verify(stored), /not valid/, 'the stored secret no longer signs once OWNER_JWT_SECRET is set');
      assert.throws(() => createOwnerApi({ config: loadConfig({ OWNER_JWT_SECRET: 'short' }), storage: { db } }), /OWNER_JWT_SECRET must be at least 32 characters/);
    });
  });
}

signInSuite('local sign-in on PGlite', migratedPgliteDb);
signInSuite('local sign-in on PostgreSQL', () => migratedTestDatabase(), pgSkipReason);
