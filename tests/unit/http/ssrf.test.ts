/** The SSRF rule of CONTRACT §5: address classification, the allow decision and the URL checks. */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StepError } from '../../../shared/errors.js';
import {
  type AddressCategory,
  checkRequestUrl,
  classifyAddress,
  decideAddress,
  literalAddress,
} from '../../../shared/net/ssrf.js';

const refused: Array<[string, AddressCategory]> = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.127.255.255', 'carrierGradeNat'],
  ['169.254.0.1', 'linkLocal'],
  ['169.254.169.254', 'cloudMetadata'],
  ['169.254.170.2', 'cloudMetadata'],
  ['100.100.100.200', 'cloudMetadata'],
  ['fd00:ec2::254', 'cloudMetadata'],
  ['fe80::1', 'linkLocal'],
  ['febf:ffff::1', 'linkLocal'],
  ['fd00::1', 'uniqueLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['fec0::1', 'private'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['192.0.0.8', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['2001::1', 'reserved'],
  ['100::1', 'reserved'],
  ['::7f00:1', 'reserved'],
  ['64:ff9b:1::a00:1', 'reserved'],
  // IPv4 inside IPv6: the IPv4 address decides.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:169.254.169.254', 'cloudMetadata'],
  ['::ffff:0:192.168.0.1', 'private'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'cloudMetadata'],
  ['2002:c0a8:101::1', 'private'],
  ['2002:7f00:1::', 'loopback'],
];

const allowed = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.215.14',
  '172.15.255.255',
  '172.32.0.1',
  '100.63.255.255',
  '100.128.0.1',
  '192.167.255.255',
  '198.17.255.255',
  '198.20.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2a00:1450:4001:80e::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('classifyAddress', () => {
  it.each(refused)('classifies %s as %s', (address, category) => {
    expect(classifyAddress(address).category).toBe(category);
  });

  it.each(allowed)('classifies %s as public', (address) => {
    expect(classifyAddress(address).category).toBe('public');
  });

  it('explains an address hidden in IPv6 by the IPv4 address it leads to', () => {
    expect(classifyAddress('64:ff9b::a00:1')).toEqual({
      address: '64:ff9b::a00:1',
      category: 'private',
      reason: 'private network address (10.0.0.0/8), 10.0.0.1 embedded in a NAT64 address',
    });
  });

  it('names the metadata address for what it is', () => {
    expect(classifyAddress('169.254.169.254').reason).toBe('cloud metadata endpoint');
  });

  it('calls anything that is not an IP address invalid', () => {
    expect(classifyAddress('localhost').category).toBe('invalid');
    expect(classifyAddress('2130706433').category).toBe('invalid');
  });

  it('reads what an IP address is as node:net isIP does, without importing node:net', () => {
    const written = [
      '1.2.3.4',
      '01.2.3.4',
      '1.2.3',
      '0x7f.1',
      '256.1.1.1',
      '::',
      '::ffff:1.2.3.4',
      '::ffff:01.2.3.4',
      '::ffff:0x7f.1',
      '1:2:3:4:5:6:1.2.3.4',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1::2::3',
      'fe80::1%eth0',
      'FE80::1',
      ' ::1',
      '',
    ];
    for (const text of written) {
      expect(classifyAddress(text).category !== 'invalid', text).toBe(isIP(text) !== 0);
    }
    const ipLike = fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.%'), maxLength: 24 });
    fc.assert(
      fc.property(ipLike, (text) => {
        // isIP also takes zones holding `-`, `.` or `:`, which ipaddr.js does not parse: refused.
        fc.pre(!/%.*[-.:]/.test(text));
        expect(classifyAddress(text).category !== 'invalid').toBe(isIP(text) !== 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts an IPv6 address in brackets, as URLs write it', () => {
    expect(classifyAddress('[::1]').category).toBe('loopback');
  });

  it('refuses every address of 10.0.0.0/8, also written as IPv4-mapped IPv6', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(octet, octet, octet, (b, c, d) => {
        const v4 = `10.${b}.${c}.${d}`;
        expect(decideAddress(v4, false).allowed).toBe(false);
        expect(decideAddress(`::ffff:${v4}`, false).allowed).toBe(false);
        expect(decideAddress(`64:ff9b::${v4}`, false).allowed).toBe(false);
      }),
    );
  });
});

describe('decideAddress', () => {
  it.each(refused)('refuses %s without allowPrivateNetwork', (address) => {
    expect(decideAddress(address, false).allowed).toBe(false);
  });

  it.each(allowed)('allows %s without allowPrivateNetwork', (address) => {
    expect(decideAddress(address, false).allowed).toBe(true);
  });

  it.each(['127.0.0.1', '::1', '10.0.0.1', '192.168.1.1', '169.254.0.1', 'fd00::1', '100.64.0.1'])(
    'allows %s with allowPrivateNetwork',
    (address) => {
      expect(decideAddress(address, true).allowed).toBe(true);
    },
  );

  it.each(['169.254.169.254', '::ffff:169.254.169.254', 'fd00:ec2::254', '100.100.100.200'])(
    'refuses the cloud metadata endpoint %s even with allowPrivateNetwork',
    (address) => {
      expect(decideAddress(address, true)).toMatchObject({ allowed: false, category: 'cloudMetadata' });
    },
  );

  it('refuses what is not an address even with allowPrivateNetwork', () => {
    expect(decideAddress('example.com', true).allowed).toBe(false);
  });
});

describe('checkRequestUrl', () => {
  it('accepts http and https URLs', () => {
    expect(checkRequestUrl('https://api.example.com/v1?x=1').href).toBe('https://api.example.com/v1?x=1');
    expect(checkRequestUrl('http://api.example.com:8080/').port).toBe('8080');
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/', 'gopher://127.0.0.1:6379/_', 'data:text/plain,hi'])(
    'refuses the scheme of %s',
    (url) => {
      expect(() => checkRequestUrl(url)).toThrow(expect.objectContaining({ code: 'HttpTargetForbidden' }));
    },
  );

  it('refuses credentials in the URL without repeating them', () => {
    let error: unknown;
    try {
      checkRequestUrl('https://user:s3cret@api.example.com/');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ code: 'HttpTargetForbidden', retryable: false });
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('refuses a text that is not an absolute URL', () => {
    expect(() => checkRequestUrl('/v1/send')).toThrow(expect.objectContaining({ code: 'HttpInvalidUrl' }));
  });
});

describe('literalAddress', () => {
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::1]:8080/', '::1'],
  ])('reads %s as the address %s, which the rule then refuses', (url, address) => {
    const literal = literalAddress(checkRequestUrl(url));
    expect(literal).toBe(address);
    expect(decideAddress(literal as string, false).allowed).toBe(false);
  });

  it('gives nothing for a host name, which must be resolved first', () => {
    expect(literalAddress(new URL('http://localhost/'))).toBeUndefined();
  });
});
