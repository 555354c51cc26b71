import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import { isOriginAllowed, isValidOriginEntry } from '../../src/server/http/origin.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';

describe('origin allowlist', () => {
  it('lets any site in when the agent has no allowlist', () => {
    assert.equal(isOriginAllowed('https://anything.test', null), true);
    assert.equal(isOriginAllowed('https://anything.test', undefined), true);
    assert.equal(isOriginAllowed('https://anything.test', []), true);
  });

  it('lets in a listed origin and nothing else', () => {
    const list = ['https://shop.example.com', 'http://localhost:5173'];
    assert.equal(isOriginAllowed('https://shop.example.com', list), true);
    assert.equal(isOriginAllowed('http://localhost:5173', list), true);
    assert.equal(isOriginAllowed('https://example.com', list), false);
    assert.equal(isOriginAllowed('http://shop.example.com', list), false, 'another scheme');
    assert.equal(isOriginAllowed('https://shop.example.com:8443', list), false, 'another port');
    assert.equal(isOriginAllowed('http://localhost:5174', list), false);
    assert.equal(isOriginAllowed('https://shop.example.com.evil.test', list), false);
  });

  it('ignores case, default ports and a trailing slash in the owner-written list', () => {
    const list = ['HTTPS://Shop.Example.com:443/'];
    assert.equal(isOriginAllowed('https://shop.example.com', list), true);
  });

  it('lets subdomains in through a wildcard, but not the apex', () => {
    const list = ['https://*.example.com'];
    assert.equal(isOriginAllowed('https://www.example.com', list), true);
    assert.equal(isOriginAllowed('https://a.b.example.com', list), true);
    assert.equal(isOriginAllowed('https://example.com', list), false, 'apex');
  });

  it('keeps a wildcard to its scheme, its port and its domain', () => {
    const list = ['https://*.example.com'];
    assert.equal(isOriginAllowed('http://www.example.com', list), false, 'http');
    assert.equal(isOriginAllowed('https://www.example.com:8443', list), false, 'port');
    assert.equal(isOriginAllowed('https://evil-example.com', list), false, 'lookalike apex');
    assert.equal(isOriginAllowed('https://www.example.com.evil.test', list), false, 'suffix trick');
    assert.equal(isOriginAllowed('https://www.notexample.com', list), false);
    assert.equal(isOriginAllowed('https://*.example.com', list), false, 'a literal star is not a subdomain');
    assert.equal(isOriginAllowed('https://dev.example.com:8443', ['https://*.example.com:8443']), true);
  });

  it('refuses what is not a real browser origin', () => {
    const list = ['https://shop.example.com'];
    assert.equal(isOriginAllowed('null', list), false, 'sandboxed iframes and file pages send "null"');
    assert.equal(isOriginAllowed('not a url', list), false);
    assert.equal(isOriginAllowed('', list), false);
    assert.equal(isOriginAllowed('https://shop.example.com/path', list), false, 'an origin has no path');
    assert.equal(isOriginAllowed('https://SHOP.example.com', list), false, 'browsers send lowercase');
  });

  it('allows "null" only when the owner lists it, and everything with "*"', () => {
    assert.equal(isOriginAllowed('null', ['null']), true);
    assert.equal(isOriginAllowed('https://anywhere.test', ['*']), true);
  });

  it('skips malformed entries instead of failing open', () => {
    const list = ['not a url', 'https://*.', 'file:///tmp', 'https://ok.example.com'];
    assert.equal(isOriginAllowed('https://ok.example.com', list), true);
    assert.equal(isOriginAllowed('https://other.example.com', list), false);
    assert.equal(isOriginAllowed('file://', list), false);
  });
});

/**
 * One valid-origin rule (isValidOriginEntry, used by the CLI, the owner API and the proxy) and the database's
 * CHECK constraint (migration 00003), the last line: on every case they agree, except where URL parsing
 * refuses what the constraint's pattern lets through (and what could never match a browser's Origin).
 */
describe('the valid-origin rule and the database constraint', () => {
  const both: [entry: string, valid: boolean][] = [
    ['*', true],
    ['null', true],
    ['https://shop.example.com', true],
    ['https://shop.example.com/', true],
    ['HTTPS://Shop.Example.com:443', true],
    ['http://localhost:5173', true],
    ['https://*.example.com', true],
    ['https://*.example.com:8443', true],
    ['http://127.0.0.1:8080', true],
    ['http://[::1]:3000', true],
    ['https://xn--bcher-kva.example', true],
    ['https://bücher.example', true],
    ['', false],
    ['shop.example.com', false],
    ['https://', false],
    ['https://*.', false],
    ['https://*example.com', false],
    ['https://a.*.example.com', false],
    ['https://shop.example.com/path', false],
    ['https://user@shop.example.com', false],
    ['https://shop.example.com?x=1', false],
    ['https://shop.example.com#top', false],
    ['https://shop example.com', false],
    [' https://shop.example.com', false],
    ['https://shop.example.com\n', false],
    ['https://shop.example.com:123456', false],
    ['https://[zz]', false],
    ['file:///tmp', false],
  ];
  // The database accepts these shapes; URL parsing refuses them, so the CLI and the owner API do too.
  const stricter = ['https://shop.example.com:99999', 'chrome-extension://abcdefghijklmnop', 'https://256.1.1.1', 'https://exa%zzmple.com'];

  let db: Db;
  let agentId: string;
  before(async () => {
    db = await migratedPglite();
    ({ agentId } = await seedAgent(db));
  });
  after(() => db?.close());

  const databaseAccepts = async (entry: string) => {
    try {
      await db.query('update public.agents set allowed_origins = $2 where id = $1', [agentId, [entry]]);
      return true;
    } catch (err) {
      assert.match((err as Error).message, /agents_allowed_origins_check/, entry);
      return false;
    }
  };

  for (const [entry, valid] of both) {
    it(`${valid ? 'accepts' : 'refuses'} ${JSON.stringify(entry)} in TypeScript and in SQL alike`, async () => {
      assert.equal(isValidOriginEntry(entry), valid, 'isValidOriginEntry');
      assert.equal(await databaseAccepts(entry), valid, 'agents_allowed_origins_check');
    });
  }

  for (const entry of stricter) {
    it(`refuses ${JSON.stringify(entry)}, which the database's pattern would let through`, async () => {
      assert.equal(isValidOriginEntry(entry), false);
      assert.equal(await databaseAccepts(entry), true);
      assert.equal(isOriginAllowed('https://shop.example.com', [entry]), false, 'and it never matches anything');
    });
  }
});
