import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTrustProxy } from '../../src/server/config.ts';
import { resolveClientIp, supabaseClientIp } from '../../src/server/http/client-ip.ts';

const socket = (ip: string | null) => () => ip;

describe('client IP for per-IP limits', () => {
  it('uses the socket address unless TRUST_PROXY says proxies of ours forward one', () => {
    assert.equal(resolveClientIp('9.9.9.9', 0, socket('1.2.3.4')), '1.2.3.4');
    assert.equal(resolveClientIp('9.9.9.9', 1, socket('10.0.0.1')), '9.9.9.9');
  });

  it('with one trusted hop takes the right-most entry: what our proxy saw, not what the client wrote', () => {
    assert.equal(resolveClientIp('6.6.6.6, 9.9.9.9', 1, socket('10.0.0.1')), '9.9.9.9');
    const buckets = new Set(['1.1.1.1', '2.2.2.2', '3.3.3.3', 'garbage', '1.1.1.1, 2.2.2.2'].map((forged) =>
      resolveClientIp(`${forged}, 9.9.9.9`, 1, socket('10.0.0.1'))));
    assert.deepEqual([...buckets], ['9.9.9.9'], 'forged left-most values share one bucket');
  });

  it('counts N hops from the right, and takes the left-most entry when there are fewer', () => {
    // client → CDN (appends the client) → load balancer (appends the CDN) → us
    const xff = '6.6.6.6, 9.9.9.9, 172.16.0.5';
    assert.equal(resolveClientIp(xff, 1, socket('10.0.0.1')), '172.16.0.5');
    assert.equal(resolveClientIp(xff, 2, socket('10.0.0.1')), '9.9.9.9');
    assert.equal(resolveClientIp(xff, 3, socket('10.0.0.1')), '6.6.6.6');
    assert.equal(resolveClientIp('9.9.9.9', 2, socket('10.0.0.1')), '9.9.9.9');
  });

  it('reads the address out of entries that carry a port, and falls back to the socket on junk', () => {
    assert.equal(resolveClientIp('203.0.113.7:51234', 1, socket('10.0.0.1')), '203.0.113.7');
    assert.equal(resolveClientIp('[2001:db8:1:2::7]:443', 1, socket('10.0.0.1')), '2001:db8:1:2::/64');
    assert.equal(resolveClientIp('6.6.6.6, not-an-ip', 1, socket('10.0.0.1')), '10.0.0.1', 'the nearest proxy, never the forged value');
    assert.equal(resolveClientIp(' , ', 1, socket('10.0.0.1')), '10.0.0.1');
  });

  it('reads TRUST_PROXY as a hop count, true as one hop, and refuses anything else at start', () => {
    assert.equal(parseTrustProxy(undefined), 0);
    for (const off of ['', '0', 'false', 'FALSE', 'no', 'off']) assert.equal(parseTrustProxy(off), 0, off);
    for (const one of ['1', 'true', 'True', 'yes', 'on', ' 1 ']) assert.equal(parseTrustProxy(one), 1, one);
    assert.equal(parseTrustProxy('2'), 2);
    for (const bad of ['-1', '1.5', 'loopback', '10.0.0.0/8', '100', 'all']) {
      assert.throws(() => parseTrustProxy(bad), /TRUST_PROXY must be the number of proxies of yours/, bad);
    }
  });

  it('takes the Edge Function client address from the header Supabase gateway sets', () => {
    const headers = new Headers({ 'cf-connecting-ip': '203.0.113.50', 'x-forwarded-for': '6.6.6.6, 203.0.113.50' });
    assert.equal(supabaseClientIp(headers), '203.0.113.50');
    assert.equal(supabaseClientIp(new Headers({ 'x-forwarded-for': '6.6.6.6' })), null, 'never the client-written X-Forwarded-For');
  });

  it('ignores a forged X-Forwarded-For that is not an address', () => {
    assert.equal(resolveClientIp("'; drop table agents; --", 1, socket('1.2.3.4')), '1.2.3.4');
    assert.equal(resolveClientIp(undefined, 0, socket('not-an-ip')), null);
  });

  it('counts an IPv4-mapped IPv6 socket address as its IPv4 address', () => {
    assert.equal(resolveClientIp(undefined, 0, socket('::ffff:127.0.0.1')), '127.0.0.1');
  });

  it('puts every address of one IPv6 /64 in the same bucket', () => {
    const a = resolveClientIp(undefined, 0, socket('2001:db8:1:2::1'));
    const b = resolveClientIp(undefined, 0, socket('2001:0DB8:0001:0002:ffff:1:2:3'));
    assert.equal(a, '2001:db8:1:2::/64');
    assert.equal(b, a);
    assert.notEqual(resolveClientIp(undefined, 0, socket('2001:db8:1:3::1')), a);
    assert.equal(resolveClientIp(undefined, 0, socket('::1')), '0:0:0:0::/64');
  });

  it('refuses malformed IPv6 text', () => {
    assert.equal(resolveClientIp(undefined, 0, socket('1::2::3')), null);
    assert.equal(resolveClientIp(undefined, 0, socket('1:2:3:4:5:6:7:8:9')), null);
  });
});
