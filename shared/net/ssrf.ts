/**
 * The SSRF rule of CONTRACT §5: which IP addresses an `api_call` may reach, and which URLs it may
 * ask for at all. Addresses are judged after resolution, never as strings, so numeric-host tricks
 * (`2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`) end up as the address they name.
 */
import ipaddr from 'ipaddr.js';
import { StepError } from '../errors.js';
import { HttpErrorCode } from './http-errors.js';

export const AddressCategory = {
  public: 'public',
  unspecified: 'unspecified',
  loopback: 'loopback',
  private: 'private',
  carrierGradeNat: 'carrierGradeNat',
  linkLocal: 'linkLocal',
  uniqueLocal: 'uniqueLocal',
  cloudMetadata: 'cloudMetadata',
  multicast: 'multicast',
  broadcast: 'broadcast',
  benchmarking: 'benchmarking',
  documentation: 'documentation',
  reserved: 'reserved',
  invalid: 'invalid',
} as const;
export type AddressCategory = (typeof AddressCategory)[keyof typeof AddressCategory];

export interface AddressClassification {
  /** The address in canonical form (IPv6 per RFC 5952). */
  address: string;
  category: AddressCategory;
  /** Why, in words for the error message, e.g. `loopback address`. */
  reason: string;
}

/**
 * What an HTTP call may reach besides public addresses: nothing (`public`, the cloud default),
 * loopback (`loopback`, the local default), or loopback and private ranges too (`private`, with
 * FLOWRUNNER_ALLOW_PRIVATE_NETWORK=true). Cloud metadata endpoints are never reachable.
 */
export type NetworkAccess = 'public' | 'loopback' | 'private';

/** The access a request asks for (HttpRequest's two flags). */
export function networkAccess(request: {
  allowPrivateNetwork: boolean;
  allowLoopback?: boolean;
}): NetworkAccess {
  return request.allowPrivateNetwork ? 'private' : request.allowLoopback ? 'loopback' : 'public';
}

export interface AddressDecision extends AddressClassification {
  allowed: boolean;
}

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

interface Range {
  cidr: [Parsed, number];
  category: AddressCategory;
  reason: string;
}

function range(cidr: string, category: AddressCategory, reason: string): Range {
  return { cidr: ipaddr.parseCIDR(cidr), category, reason };
}

// IANA special-purpose registries; the first match wins, so single addresses precede their blocks.
const IPV4_RANGES: readonly Range[] = [
  range('0.0.0.0/8', 'unspecified', 'unspecified address ("this network", 0.0.0.0/8)'),
  range('10.0.0.0/8', 'private', 'private network address (10.0.0.0/8)'),
  range('100.100.100.200/32', 'cloudMetadata', 'cloud metadata endpoint'),
  range('100.64.0.0/10', 'carrierGradeNat', 'shared address space (carrier-grade NAT, 100.64.0.0/10)'),
  range('127.0.0.0/8', 'loopback', 'loopback address'),
  range('169.254.169.254/32', 'cloudMetadata', 'cloud metadata endpoint'),
  range('169.254.170.2/32', 'cloudMetadata', 'cloud metadata endpoint (container credentials)'),
  range('169.254.170.23/32', 'cloudMetadata', 'cloud metadata endpoint (pod identity)'),
  range('169.254.0.0/16', 'linkLocal', 'link-local address'),
  range('172.16.0.0/12', 'private', 'private network address (172.16.0.0/12)'),
  range('192.0.0.0/24', 'reserved', 'reserved address (IETF protocol assignments)'),
  range('192.0.2.0/24', 'documentation', 'documentation address (TEST-NET-1)'),
  range('192.88.99.0/24', 'reserved', 'reserved address (former 6to4 relay anycast)'),
  range('192.168.0.0/16', 'private', 'private network address (192.168.0.0/16)'),
  range('198.18.0.0/15', 'benchmarking', 'benchmarking address (198.18.0.0/15)'),
  range('198.51.100.0/24', 'documentation', 'documentation address (TEST-NET-2)'),
  range('203.0.113.0/24', 'documentation', 'documentation address (TEST-NET-3)'),
  range('224.0.0.0/4', 'multicast', 'multicast address'),
  range('255.255.255.255/32', 'broadcast', 'broadcast address'),
  range('240.0.0.0/4', 'reserved', 'reserved address (240.0.0.0/4)'),
];

/** IPv6 prefixes that carry an IPv4 address, which then decides: where it leads is an IPv4 host. */
interface Embedding {
  cidr: [Parsed, number];
  /** How the reason names it, e.g. `a NAT64 address`. */
  kind: string;
  extract(address: ipaddr.IPv6): ipaddr.IPv4;
}

const lastWords = (a: ipaddr.IPv6) => new ipaddr.IPv4(a.toByteArray().slice(12));

const IPV6_EMBEDDINGS: readonly Embedding[] = [
  { cidr: ipaddr.parseCIDR('::ffff:0:0/96'), kind: 'an IPv4-mapped address', extract: lastWords },
  { cidr: ipaddr.parseCIDR('::ffff:0:0:0/96'), kind: 'an IPv4-translated address', extract: lastWords },
  { cidr: ipaddr.parseCIDR('64:ff9b::/96'), kind: 'a NAT64 address', extract: lastWords },
  {
    cidr: ipaddr.parseCIDR('2002::/16'),
    kind: 'a 6to4 address',
    extract: (a) => new ipaddr.IPv4(a.toByteArray().slice(2, 6)),
  },
];

const IPV6_RANGES: readonly Range[] = [
  range('::/128', 'unspecified', 'unspecified address (::)'),
  range('::1/128', 'loopback', 'loopback address'),
  range('::/96', 'reserved', 'reserved address (deprecated IPv4-compatible)'),
  range('64:ff9b:1::/48', 'reserved', 'reserved address (local-use NAT64, 64:ff9b:1::/48)'),
  range('fd00:ec2::254/128', 'cloudMetadata', 'cloud metadata endpoint'),
  range('fd00:ec2::23/128', 'cloudMetadata', 'cloud metadata endpoint (pod identity)'),
  range('fc00::/7', 'uniqueLocal', 'unique local address (fc00::/7)'),
  range('fe80::/10', 'linkLocal', 'link-local address'),
  range('fec0::/10', 'private', 'site-local address (deprecated, fec0::/10)'),
  range('ff00::/8', 'multicast', 'multicast address'),
  range('2001:db8::/32', 'documentation', 'documentation address (2001:db8::/32)'),
  range('3fff::/20', 'documentation', 'documentation address (3fff::/20)'),
  range('2001::/23', 'reserved', 'reserved address (IETF protocol assignments, incl. Teredo)'),
];

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

function matchRange(address: Parsed, ranges: readonly Range[]): Range | undefined {
  return ranges.find((r) => address.kind() === r.cidr[0].kind() && address.match(r.cidr));
}

function classifyV4(address: ipaddr.IPv4): AddressClassification {
  const hit = matchRange(address, IPV4_RANGES);
  const text = address.toString();
  return hit
    ? { address: text, category: hit.category, reason: hit.reason }
    : { address: text, category: 'public', reason: 'public address' };
}

function classifyV6(address: ipaddr.IPv6): AddressClassification {
  const text = address.toRFC5952String();
  const embedding = IPV6_EMBEDDINGS.find((e) => address.match(e.cidr));
  if (embedding) {
    const inner = classifyV4(embedding.extract(address));
    const reason =
      inner.category === 'public'
        ? `public address ${inner.address} embedded in ${embedding.kind}`
        : `${inner.reason}, ${inner.address} embedded in ${embedding.kind}`;
    return { address: text, category: inner.category, reason };
  }
  const hit = matchRange(address, IPV6_RANGES);
  if (hit) return { address: text, category: hit.category, reason: hit.reason };
  if (!address.match(GLOBAL_UNICAST)) {
    return {
      address: text,
      category: 'reserved',
      reason: 'reserved address (outside global unicast 2000::/3)',
    };
  }
  return { address: text, category: 'public', reason: 'public address' };
}

/**
 * Whether a string is an IP address written the usual way: four decimal parts without leading zeros
 * (so not `2130706433` or `0x7f.1`, which name an address only to some parsers), or IPv6. As
 * node:net's `isIP`, which this module no longer imports, so that steps can import it; except that
 * an IPv6 zone holding `-`, `.` or `:` is refused, where isIP accepted what ipaddr.js then could not
 * parse (classifyAddress threw).
 */
function isIpAddress(text: string): boolean {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return true;
  if (!ipaddr.IPv6.isValid(text)) return false;
  // ipaddr.js reads an embedded IPv4 part leniently (`::ffff:01.2.3.4`); isIP does not.
  const last = text.split('%')[0]!.split(':').at(-1)!;
  return !last.includes('.') || ipaddr.IPv4.isValidFourPartDecimal(last);
}

/** What kind of address this is; anything that does not parse as an IP address is `invalid`. */
export function classifyAddress(address: string): AddressClassification {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!isIpAddress(bare)) return { address, category: 'invalid', reason: 'not an IP address' };
  const parsed = ipaddr.parse(bare);
  return parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6);
}

/**
 * Whether a connection to `address` may be made. Public addresses always may; cloud metadata
 * endpoints never may, because they hand out the host's credentials and no workflow needs them;
 * loopback with `loopback` access or more; everything else (private, link-local, …) only with
 * `private` access (`true` is `private`, `false` is `public`).
 */
export function decideAddress(address: string, access: NetworkAccess | boolean): AddressDecision {
  const level = access === true ? 'private' : access === false ? 'public' : access;
  const classification = classifyAddress(address);
  const { category } = classification;
  const allowed =
    category === 'public' ||
    (level === 'loopback' && category === 'loopback') ||
    (level === 'private' && category !== 'cloudMetadata' && category !== 'invalid');
  return { ...classification, allowed };
}

/**
 * Parses the URL of a request and refuses what no address check can make safe: schemes other than
 * http and https, and credentials in the URL (they belong in a header, where they are not logged).
 */
export function checkRequestUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new StepError(HttpErrorCode.invalidUrl, `not a valid absolute URL: ${JSON.stringify(raw)}`, {
      retryable: false,
      cause,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StepError(
      HttpErrorCode.targetForbidden,
      `refused ${url.protocol} URL: only http and https are allowed`,
      { retryable: false, details: { scheme: url.protocol.slice(0, -1) } },
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new StepError(
      HttpErrorCode.targetForbidden,
      `refused a URL with credentials for ${url.hostname}: send them in a header instead`,
      { retryable: false, details: { host: url.hostname } },
    );
  }
  return url;
}

/** The IP address a URL names literally (IPv6 without brackets), or undefined for a host name. */
export function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIpAddress(host) ? host : undefined;
}
