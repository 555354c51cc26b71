import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOriginAllowed } from '../../src/server/http/origin.ts';

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
