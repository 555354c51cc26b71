// The console's pure modules (no DOM): the agent form's checks and request bodies, the theme editor's CSS,
// the embed snippets, and how the owner API client reads errors.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { NEW_AGENT, changes, draftOf, fieldOf, inputOf, validate, type Draft } from '../../src/console/agent-fields.ts';
import { OwnerApi, OwnerApiError, type Agent } from '../../src/console/api.ts';
import { npmSnippet, scriptSnippet } from '../../src/console/snippets.ts';
import { contrast, onAccent, themeCss, themeProperties } from '../../src/console/theme.ts';

const draft = (patch: Partial<Draft> = {}): Draft => ({ ...NEW_AGENT, name: 'Support', ...patch });
const fields = (d: Draft) => validate(d).map((p) => `${p.field}:${p.key}`);

const agent: Agent = {
  id: 'a1',
  user_id: 'u1',
  name: 'Support',
  role: 'assistant',
  instructions: null,
  model: 'mistral-small-latest',
  temperature: '0.70', // numeric columns may arrive as strings
  max_tokens: 1024,
  top_p: '1.00',
  api_key: 'mac_x',
  is_active: true,
  allowed_origins: null,
  rate_limit_session_per_minute: null,
  rate_limit_ip_per_minute: null,
  daily_token_budget: null,
  mistral_agent_id: null,
  identity_required: false,
  retention_days: null,
  has_identity_secret: false,
  created_at: '2026-05-01T00:00:00Z',
  updated_at: '2026-05-01T00:00:00Z',
};

describe('console agent form model', () => {
  it('accepts the defaults of a new agent once it has a name', () => {
    assert.deepEqual(fields(draft()), []);
    assert.deepEqual(fields({ ...NEW_AGENT }), ['name:v_required']);
  });

  it('checks what the database constraints check, field by field', () => {
    assert.deepEqual(fields(draft({ temperature: '1.01' })), ['temperature:v_fraction']);
    assert.deepEqual(fields(draft({ temperature: '.5', top_p: '0' })), []);
    assert.deepEqual(fields(draft({ top_p: '0.555' })), ['top_p:v_decimals']);
    assert.deepEqual(fields(draft({ top_p: '-0.1' })), ['top_p:v_fraction']);
    assert.deepEqual(fields(draft({ max_tokens: '2147483648' })), ['max_tokens:v_integer']);
    assert.deepEqual(fields(draft({ rate_limit_ip_per_minute: '0', daily_token_budget: '0' })), ['daily_token_budget:v_integer']);
    assert.deepEqual(fields(draft({ retention_days: ' 7 ' })), []);
    assert.deepEqual(fields(draft({ name: 'x'.repeat(256) })), ['name:v_too_long']);
    assert.deepEqual(fields(draft({ instructions: 'a\0b' })), ['instructions:v_nul']);
    assert.deepEqual(fields(draft({ mistral_agent_id: 'ag:0195b0a1-1234.v2' })), []);
    assert.deepEqual(fields(draft({ mistral_agent_id: '_x' })), ['mistral_agent_id:v_agent_id']);
    assert.deepEqual(fields(draft({ model: 'ft:open-mistral-7b:587a6b29:20240514:7e773925' })), []);
  });

  it('takes the origins the database takes, and names the first bad line', () => {
    const ok = ['*', 'null', 'https://shop.example.com', 'http://localhost:5173/', 'https://*.example.com', 'http://[::1]:8080'];
    assert.deepEqual(fields(draft({ allowed_origins: ok.join('\n') })), []);
    for (const bad of ['shop.example.com', 'https://a.example.com/path', 'https://user@a.example.com', 'https://a.example.com:123456', 'https://*'])
      assert.deepEqual(
        validate(draft({ allowed_origins: `https://ok.example.com\n${bad}` })).map((p) => p.vars?.value),
        [bad],
        bad,
      );
  });

  it('builds a full body for create and only the changes for an edit', () => {
    const d = draft({ allowed_origins: ' https://a.example.com \n\n', instructions: '', mistral_agent_id: ' ' });
    const body = inputOf(d);
    assert.deepEqual(body.allowed_origins, ['https://a.example.com']);
    assert.equal(body.instructions, null);
    assert.equal(body.mistral_agent_id, null);
    assert.equal(body.rate_limit_session_per_minute, null);
    assert.deepEqual(changes(draftOf(agent), agent), {});
    assert.deepEqual(changes({ ...draftOf(agent), temperature: '0.5', retention_days: '30' }, agent), { temperature: 0.5, retention_days: 30 });
    assert.deepEqual(changes({ ...draftOf(agent), allowed_origins: 'https://a.example.com' }, agent), { allowed_origins: ['https://a.example.com'] });
  });

  it('maps a server field to the form field it belongs to', () => {
    assert.equal(fieldOf('allowed_origins[2]'), 'allowed_origins');
    assert.equal(fieldOf('allowed_origins.2'), 'allowed_origins');
    assert.equal(fieldOf('temperature'), 'temperature');
    assert.equal(fieldOf('user_id'), undefined);
    assert.equal(fieldOf(undefined), undefined);
  });
});

describe('console theme editor', () => {
  it('writes the widget\'s custom properties, with readable text on the accent', () => {
    assert.equal(onAccent('#c2410c'), '#ffffff');
    assert.equal(onAccent('#fde047'), '#000000');
    // mid-grey is the worst case for a black-or-white choice
    for (const accent of ['#c2410c', '#0f766e', '#fde047', '#000000', '#ffffff', '#7c3aed', '#777777', '#767676', '#808080'])
      assert.ok(contrast(accent, onAccent(accent)) >= 4.5, `${accent}: ${contrast(accent, onAccent(accent))}`);
    const p = themeProperties({ accent: 'nonsense', radius: 99, font: 'mono', scheme: 'auto' });
    assert.equal(p['--mistral-chat-accent'], '#c2410c');
    assert.equal(p['--mistral-chat-radius'], '32px');
    assert.match(themeCss({ accent: '#0F766E', radius: 8, font: 'system', scheme: 'dark' }), /^mistral-agent-chat \{\n {2}--mistral-chat-accent: #0f766e;\n/);
  });
});

describe('console snippets', () => {
  it('escapes what goes into attributes', () => {
    assert.equal(
      scriptSnippet('https://x.example"><script>', 'mac_"1', 'dark'),
      '<script type="module" src="https://x.example&quot;>&lt;script>/widget.js"></script>\n<mistral-agent-chat api-key="mac_&quot;1" theme="dark"></mistral-agent-chat>\n',
    );
    assert.ok(!npmSnippet('https://x.example', 'mac_1').includes('theme='));
  });
});

describe('console owner API client', () => {
  const real = globalThis.fetch;
  afterEach(() => (globalThis.fetch = real));
  const answer = (res: Response | Error) => {
    const seen: { url: string; init: RequestInit }[] = [];
    globalThis.fetch = async (url, init = {}) => {
      seen.push({ url: String(url), init });
      if (res instanceof Error) throw res;
      return res;
    };
    return seen;
  };

  it('sends the bearer token and JSON, and reads the error body with its field', async () => {
    const seen = answer(
      new Response(JSON.stringify({ error: { code: 'invalid_request', message: 'temperature must be ≤ 1', field: 'temperature' } }), { status: 400 }),
    );
    const api = new OwnerApi('https://x.example/', async () => 'tok');
    const err = await api.updateAgent('a/1', { temperature: 2 }).catch((e: unknown) => e);
    assert.ok(err instanceof OwnerApiError);
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.field, 'temperature');
    assert.equal(seen[0]!.url, 'https://x.example/v1/owner/agents/a%2F1');
    assert.equal(seen[0]!.init.method, 'PATCH');
    assert.equal((seen[0]!.init.headers as Record<string, string>).Authorization, 'Bearer tok');
    assert.equal(seen[0]!.init.body, '{"temperature":2}');
  });

  it('reads Retry-After, answers without JSON, network failures and a missing token', async () => {
    answer(new Response('{"error":{"code":"rate_limited","message":"slow"}}', { status: 429, headers: { 'Retry-After': '30' } }));
    const api = new OwnerApi('https://x.example', async () => 'tok');
    assert.equal(((await api.agents().catch((e: unknown) => e)) as OwnerApiError).retryAfter, 30);
    answer(new Response('<html>Bad gateway</html>', { status: 502 }));
    assert.equal(((await api.agents().catch((e: unknown) => e)) as OwnerApiError).code, 'unavailable');
    answer(new TypeError('fetch failed'));
    assert.equal(((await api.agents().catch((e: unknown) => e)) as OwnerApiError).code, 'network');
    const seen = answer(new Response('{}'));
    const signedOut = new OwnerApi('https://x.example');
    assert.equal(((await signedOut.me().catch((e: unknown) => e)) as OwnerApiError).code, 'unauthorized');
    assert.equal(seen.length, 0);
    assert.deepEqual(await signedOut.config(), {});
  });
});
