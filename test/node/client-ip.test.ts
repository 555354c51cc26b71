import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveClientIp } from '../../src/server/http/client-ip.ts';

const socket = (ip: string | null) => () => ip;

describe('client IP for per-IP limits', () => {
  it('uses the socket address unless a trusted proxy forwards one', () => {
    assert.equal(resolveClientIp('9.9.9.9', false, socket('1.2.3.4')), '1.2.3.4');
    assert.equal(resolveClientIp('9.9.9.9, 10.0.0.1', true, socket('1.2.3.4')), '9.9.9.9');
  });

  it('ignores a forged X-Forwarded-For that is not an address', () => {
    assert.equal(resolveClientIp("'; drop table agents; --", true, socket('1.2.3.4')), '1.2.3.4');
    assert.equal(resolveClientIp(undefined, false, socket('not-an-ip')), null);
  });

  it('counts an IPv4-mapped IPv6 socket address as its IPv4 address', () => {
    assert.equal(resolveClientIp(undefined, false, socket('::ffff:127.0.0.1')), '127.0.0.1');
  });

  it('puts every address of one IPv6 /64 in the same bucket', () => {
    const a = resolveClientIp(undefined, false, socket('2001:db8:1:2::1'));
    const b = resolveClientIp(undefined, false, socket('2001:0DB8:0001:0002:ffff:1:2:3'));
    assert.equal(a, '2001:db8:1:2::/64');
    assert.equal(b, a);
    assert.notEqual(resolveClientIp(undefined, false, socket('2001:db8:1:3::1')), a);
    assert.equal(resolveClientIp(undefined, false, socket('::1')), '0:0:0:0::/64');
  });

  it('refuses malformed IPv6 text', () => {
    assert.equal(resolveClientIp(undefined, false, socket('1::2::3')), null);
    assert.equal(resolveClientIp(undefined, false, socket('1:2:3:4:5:6:7:8:9')), null);
  });
});
