import { describe, expect, it } from 'vitest';
import { allowHostMatcher, checkEndpoint, isPublicAddress } from './endpoint-guard.js';

describe('the push endpoint guard (SSRF)', () => {
  it('tells public addresses from every private, loopback, link-local, ULA, CGNAT and multicast one', () => {
    for (const a of ['8.8.8.8', '142.250.74.100', '2a00:1450:4001:82a::200a', '::ffff:8.8.8.8'])
      expect(isPublicAddress(a), a).toBe(true);
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      'not an address',
    ])
      expect(isPublicAddress(a), a).toBe(false);
  });

  const resolveTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const none = allowHostMatcher([]);

  it('refuses http, bad URLs and credentials before any lookup', async () => {
    const never = async () => {
      throw new Error('looked up');
    };
    await expect(checkEndpoint('http://push.example/x', none, never)).rejects.toMatchObject({
      reason: 'not_https',
    });
    await expect(checkEndpoint('nonsense', none, never)).rejects.toMatchObject({
      reason: 'bad_url',
    });
    await expect(checkEndpoint('https://u:p@push.example/x', none, never)).rejects.toMatchObject({
      reason: 'credentials',
    });
  });

  it('refuses a host with any private address, and connects to the checked one', async () => {
    await expect(
      checkEndpoint('https://push.example/x', none, resolveTo('8.8.8.8', '10.0.0.1')),
    ).rejects.toMatchObject({ reason: 'private_address' });
    await expect(checkEndpoint('https://127.0.0.1:8443/x', none)).rejects.toMatchObject({
      reason: 'private_address',
    });
    await expect(checkEndpoint('https://[::1]/x', none)).rejects.toMatchObject({
      reason: 'private_address',
    });
    const ok = await checkEndpoint('https://push.example/x', none, resolveTo('8.8.4.4'));
    expect(ok).toMatchObject({ hostname: 'push.example', port: 443, address: '8.8.4.4' });
  });

  it('admits the allow-list: host:port exactly, a bare host on any port', async () => {
    const allow = allowHostMatcher(['127.0.0.1:8443', 'push.lan']);
    expect((await checkEndpoint('https://127.0.0.1:8443/x', allow)).address).toBe('127.0.0.1');
    await expect(checkEndpoint('https://127.0.0.1:9443/x', allow)).rejects.toMatchObject({
      reason: 'private_address',
    });
    const lan = await checkEndpoint('https://push.lan:1234/x', allow, resolveTo('192.168.1.9'));
    expect(lan).toMatchObject({ port: 1234, address: '192.168.1.9' });
  });
});
