/**
 * The EventBridge pattern matcher against a conformance table taken from AWS's documentation of
 * each operator ("Content filtering in Amazon EventBridge event patterns", "Comparison operators
 * for use in event patterns", "Arrays in event patterns"): each row is a pattern, an event and
 * whether EventBridge matches it. Negative rows sit beside the positive ones. Then property tests,
 * and the checker's problems with their paths.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkEventPattern,
  compileEventPattern,
  compileWildcard,
  type EventPattern,
  MAX_PATTERN_CHARS,
  matchesEventPattern,
} from '../../../shared/triggers/event-pattern.js';

/** The EC2 event of AWS's "Amazon EventBridge event patterns" page. */
const EC2 = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

const withDetail = (detail: Record<string, unknown>) => ({ ...EC2, detail });

interface Row {
  name: string;
  pattern: EventPattern;
  event: unknown;
  expected: boolean;
}

/** The rows of one pattern, each case an event, whether EventBridge matches it, and the row's name. */
function rowsOf(pattern: EventPattern, ...cases: [name: string, event: unknown, expected: boolean][]): Row[] {
  return cases.map(([name, event, expected]) => ({ name, pattern, event, expected }));
}

const ROWS: Row[] = [
  // Exact values, fields ANDed, values ORed (event patterns page).
  ...rowsOf(
    {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    },
    ['EC2 termination pattern matches the EC2 event', EC2, true],
  ),
  ...rowsOf({ source: ['aws.ec2'], detail: { state: ['terminated'] } }, [
    'EC2 termination pattern does not match a running instance',
    withDetail({ state: 'running' }),
    false,
  ]),
  ...rowsOf({ detail: { state: ['Terminated'] } }, ['matching is case-sensitive', EC2, false]),
  ...rowsOf({ detail: { state: ['pending', 'terminated'] } }, ['any value of the list may match', EC2, true]),
  ...rowsOf({ detail: { reason: ['x'] } }, ['a field the event lacks does not match', EC2, false]),
  ...rowsOf(
    { Location: ['New York'], Day: ['Monday'] },
    ['fields are ANDed: Location and Day', { Location: 'New York', Day: 'Monday' }, true],
    ['fields are ANDed: one differs', { Location: 'New York', Day: 'Tuesday' }, false],
  ),
  ...rowsOf({ region: ['us-west-1'] }, ['fields the pattern leaves out are ignored', EC2, true]),
  ...rowsOf({ state: ['terminated'] }, ['a nested field needs the same nesting', EC2, false]),
  // Arrays.
  ...rowsOf(
    {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    [
      'arrays: non-empty intersection of pattern and event arrays',
      {
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      },
      true,
    ],
  ),
  ...rowsOf({ resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f'] }, [
    'arrays: empty intersection',
    { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
    false,
  ]),
  ...rowsOf({ detail: { items: { sku: ['b-2'] } } }, [
    'arrays of objects: one element matches',
    withDetail({ items: [{ sku: 'a-1' }, { sku: 'b-2' }] }),
    true,
  ]),
  ...rowsOf({ detail: { items: { sku: ['c-3'] } } }, [
    'arrays of objects: no element matches',
    withDetail({ items: [{ sku: 'a-1' }, { sku: 'b-2' }] }),
    false,
  ]),
  // Prefix.
  ...rowsOf({ time: [{ prefix: '2017-12-22' }] }, ['prefix matches the start', EC2, true]),
  ...rowsOf({ time: [{ prefix: '2017-10-02' }] }, ['prefix: another day', EC2, false]),
  ...rowsOf({ source: [{ prefix: 'AWS.' }] }, ['prefix is case-sensitive', EC2, false]),
  ...rowsOf({ n: [{ prefix: '12' }] }, ['prefix does not match numbers', { n: 123 }, false]),
  ...rowsOf(
    { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    [
      'prefix with equals-ignore-case: EventB matches EVENTBRIDGE',
      withDetail({ service: 'EVENTBRIDGE' }),
      true,
    ],
    ['prefix with equals-ignore-case: eventbridge', withDetail({ service: 'eventbridge' }), true],
    ['prefix with equals-ignore-case: another prefix', withDetail({ service: 'Lambda' }), false],
  ),
  // Suffix.
  ...rowsOf(
    { FileName: [{ suffix: '.png' }] },
    ['suffix .png matches', { FileName: 'image.png' }, true],
    ['suffix .png: jpg', { FileName: 'image.jpg' }, false],
    ['suffix is case-sensitive', { FileName: 'image.PNG' }, false],
  ),
  ...rowsOf(
    { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    ['suffix with equals-ignore-case matches .PNG', withDetail({ FileName: 'photo.PNG' }), true],
    ['suffix with equals-ignore-case: .gif', withDetail({ FileName: 'photo.gif' }), false],
  ),
  // Equals-ignore-case.
  ...rowsOf({ 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] }, [
    'equals-ignore-case matches any casing',
    EC2,
    true,
  ]),
  ...rowsOf({ 'detail-type': [{ 'equals-ignore-case': 'ec2 instance' }] }, [
    'equals-ignore-case is not a prefix',
    EC2,
    false,
  ]),
  // Anything-but.
  ...rowsOf(
    { detail: { state: [{ 'anything-but': 'initializing' }] } },
    ['anything-but a string: another state', withDetail({ state: 'running' }), true],
    ['anything-but a string: that state', withDetail({ state: 'initializing' }), false],
    ['anything-but needs the field to be present', withDetail({}), false],
  ),
  ...rowsOf(
    { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    ['anything-but a number: another number', withDetail({ 'x-limit': 456 }), true],
    ['anything-but a number: that number', withDetail({ 'x-limit': 123 }), false],
  ),
  ...rowsOf(
    { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    ['anything-but a list of strings: not in it', withDetail({ state: 'running' }), true],
    ['anything-but a list of strings: in it', withDetail({ state: 'overloaded' }), false],
  ),
  ...rowsOf(
    { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    ['anything-but a list of numbers: not in it', withDetail({ 'x-limit': 150 }), true],
    ['anything-but a list of numbers: in it', withDetail({ 'x-limit': 200 }), false],
  ),
  ...rowsOf(
    { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    ['anything-but prefix: another prefix', withDetail({ state: 'running' }), true],
    ['anything-but prefix: that prefix', withDetail({ state: 'initializing' }), false],
  ),
  ...rowsOf(
    { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
    ['anything-but a list of prefixes: us- and eu-', { region: 'eu-west-1' }, false],
    ['anything-but a list of prefixes: ap-', { region: 'ap-south-1' }, true],
  ),
  ...rowsOf(
    { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    ['anything-but suffix: another extension', withDetail({ FileName: 'data.csv' }), true],
    ['anything-but suffix: that extension', withDetail({ FileName: 'notes.txt' }), false],
  ),
  ...rowsOf({ detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } }, [
    'anything-but equals-ignore-case: another casing is excluded too',
    withDetail({ state: 'INITIALIZING' }),
    false,
  ]),
  ...rowsOf(
    { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    [
      'anything-but equals-ignore-case list: Stopped/OverLoaded vs running',
      withDetail({ state: 'running' }),
      true,
    ],
    ['anything-but equals-ignore-case list: stopped', withDetail({ state: 'stopped' }), false],
  ),
  ...rowsOf(
    { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    ['anything-but wildcard: a path without /lib/', { FilePath: '/usr/bin/env' }, true],
    ['anything-but wildcard: a path with /lib/', { FilePath: '/usr/lib/libc.so' }, false],
  ),
  ...rowsOf({ detail: { state: [{ 'anything-but': 'initializing' }] } }, [
    'anything-but on an array: one element is not excluded',
    withDetail({ state: ['initializing', 'running'] }),
    true,
  ]),
  // Numeric.
  ...rowsOf(
    { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    ['numeric range > 0, <= 5: 5', withDetail({ 'c-count': 5 }), true],
    ['numeric range > 0, <= 5: 0', withDetail({ 'c-count': 0 }), false],
    ['numeric range > 0, <= 5: 6', withDetail({ 'c-count': 6 }), false],
    ['numeric never matches a string', withDetail({ 'c-count': '5' }), false],
  ),
  ...rowsOf({ detail: { 'd-count': [{ numeric: ['<', 10] }] } }, [
    'numeric < 10 with a fraction',
    withDetail({ 'd-count': 9.99 }),
    true,
  ]),
  ...rowsOf(
    { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
    ['numeric = 3.018e2 matches 301.8', withDetail({ 'x-limit': 301.8 }), true],
    ['numeric = 3.018e2: 301.9', withDetail({ 'x-limit': 301.9 }), false],
  ),
  ...rowsOf({ price: [{ numeric: ['>=', 10] }] }, ['numeric >= 10 includes 10', { price: 10 }, true]),
  ...rowsOf({ price: [{ numeric: ['>', 10, '<', 20] }] }, [
    'numeric > 10, < 20 excludes 20',
    { price: 20 },
    false,
  ]),
  ...rowsOf(
    { Price: [100] },
    ['exact number: Price is 100', { Price: 100 }, true],
    ['exact number compares values: 1e2', { Price: 1e2 }, true],
    ['exact number does not match the string "100"', { Price: '100' }, false],
  ),
  // IP address.
  ...rowsOf(
    { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    ['cidr IPv4: inside 10.0.0.0/24', withDetail({ 'source-ip': '10.0.0.255' }), true],
    ['cidr IPv4: outside 10.0.0.0/24', withDetail({ 'source-ip': '10.0.1.1' }), false],
  ),
  ...rowsOf(
    { detail: { 'source-ip': [{ cidr: '2001:db8::/64' }] } },
    ['cidr IPv6: inside 2001:db8::/64', withDetail({ 'source-ip': '2001:db8::ff00:42:8329' }), true],
    ['cidr IPv6: outside 2001:db8::/64', withDetail({ 'source-ip': '2001:db8:0:1::1' }), false],
  ),
  ...rowsOf({ detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } }, [
    'cidr: not an address',
    withDetail({ 'source-ip': 'ten.zero' }),
    false,
  ]),
  ...rowsOf({ detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } }, [
    'cidr: an IPv6 address against an IPv4 block',
    withDetail({ 'source-ip': '::1' }),
    false,
  ]),
  // Exists.
  ...rowsOf({ detail: { state: [{ exists: true }] } }, ['exists true: the field is there', EC2, true]),
  ...rowsOf({ detail: { 'c-count': [{ exists: true }] } }, [
    'exists true: the field is not there',
    EC2,
    false,
  ]),
  ...rowsOf({ detail: { 'c-count': [{ exists: false }] } }, [
    'exists false: the field is not there',
    EC2,
    true,
  ]),
  ...rowsOf({ detail: { state: [{ exists: false }] } }, ['exists false: the field is there', EC2, false]),
  ...rowsOf({ detail: [{ exists: true }] }, [
    'exists works on leaf nodes only: an object is not a leaf',
    EC2,
    false,
  ]),
  ...rowsOf({ detail: { nested: { flag: [{ exists: false }] } } }, [
    'exists false when the whole parent is missing',
    EC2,
    true,
  ]),
  ...rowsOf({ detail: { UserID: [{ exists: true }] } }, [
    'exists true: a null value is present',
    withDetail({ UserID: null }),
    true,
  ]),
  // Null and empty.
  ...rowsOf(
    { UserID: [null] },
    ['null matches null: UserID is null', { UserID: null }, true],
    ['null does not match a missing field', {}, false],
    ['null does not match the empty string', { UserID: '' }, false],
  ),
  ...rowsOf(
    { LastName: [''] },
    ['empty string: LastName is empty', { LastName: '' }, true],
    ['empty string does not match null', { LastName: null }, false],
  ),
  ...rowsOf(
    { enabled: [true] },
    ['booleans match booleans', { enabled: true }, true],
    ['a boolean does not match its string', { enabled: 'true' }, false],
  ),
  // Wildcard.
  ...rowsOf(
    { EventBusArn: [{ wildcard: 'dir/*.png' }] },
    ['wildcard dir/*.png matches dir/file.png', { EventBusArn: 'dir/file.png' }, true],
    ['wildcard * crosses slashes', { EventBusArn: 'dir/sub/dir/file.png' }, true],
    ['wildcard: another extension', { EventBusArn: 'dir/file.jpg' }, false],
  ),
  ...rowsOf(
    { arn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    ['wildcard with several stars', { arn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders' }, true],
    [
      'wildcard with several stars: another region',
      { arn: 'arn:aws:events:eu-west-1:123456789012:event-bus/orders' },
      false,
    ],
  ),
  ...rowsOf(
    { name: [{ wildcard: 'a\\*b' }] },
    ['wildcard: an escaped star is a literal star', { name: 'a*b' }, true],
    ['wildcard: an escaped star does not match other text', { name: 'axxb' }, false],
  ),
  // $or.
  ...rowsOf(
    { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
    ['$or: Location is New York or Day is Monday (Day)', { Location: 'Boston', Day: 'Monday' }, true],
    ['$or: neither', { Location: 'Boston', Day: 'Friday' }, false],
  ),
  ...rowsOf(
    {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    ['$or of numeric matches: d-count < 10', withDetail({ 'd-count': 3 }), true],
    ['$or of numeric matches: none', withDetail({ 'c-count': 7, 'd-count': 11 }), false],
  ),
  ...rowsOf({ source: ['aws.ec2'], $or: [{ region: ['us-east-1'] }, { region: ['us-west-1'] }] }, [
    '$or ANDed with the fields beside it',
    { ...EC2, source: 'aws.s3' },
    false,
  ]),
  ...rowsOf(
    {
      source: ['aws.ec2'],
      $or: [
        { region: ['eu-west-1'] },
        { $or: [{ account: ['111122223333'] }, { account: ['444455556666'] }] },
      ],
    },
    ['$or nested in $or', EC2, true],
  ),
  ...rowsOf(
    {
      $or: [
        { source: ['aws.s3'], 'detail-type': ['Object Created'] },
        { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
      ],
    },
    ['$or alternatives with several fields each', EC2, true],
  ),
  // Several operators in one list: any may match.
  ...rowsOf({ detail: { state: [{ prefix: 'stop' }, 'terminated'] } }, [
    'mixed list: a prefix or an exact value',
    EC2,
    true,
  ]),
  ...rowsOf({ detail: { reason: [{ exists: false }, 'user'] } }, [
    'mixed list: exists false or a value',
    EC2,
    true,
  ]),
];

describe('EventBridge pattern conformance (AWS documentation examples)', () => {
  it('has a table of at least 60 rows with negative ones', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(60);
    expect(ROWS.filter((row) => !row.expected).length).toBeGreaterThanOrEqual(25);
  });

  it.each(ROWS)('$name', ({ pattern, event, expected }) => {
    expect(checkEventPattern(pattern)).toEqual([]);
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });
});

describe('checkEventPattern', () => {
  const problems = (pattern: unknown) => checkEventPattern(pattern);

  it.each<[string, unknown, string, RegExp]>([
    [
      'an unknown operator',
      { detail: { state: [{ contains: 'x' }] } },
      'detail.state[0].contains',
      /unknown operator "contains"/,
    ],
    ['a bare value', { source: 'aws.ec2' }, 'source', /must be a list/],
    ['an empty list', { source: [] }, 'source', /must not be empty/],
    ['an empty pattern', {}, '(root)', /must not be empty/],
    ['not an object', ['aws.ec2'], '(root)', /JSON object/],
    ['prefix of a number', { a: [{ prefix: 5 }] }, 'a[0].prefix', /takes a string/],
    [
      'suffix with a bad ignore-case',
      { a: [{ suffix: { 'equals-ignore-case': 1 } }] },
      'a[0].suffix.equals-ignore-case',
      /string/,
    ],
    ['exists with a string', { a: [{ exists: 'yes' }] }, 'a[0].exists', /true or false/],
    ['two operators in one object', { a: [{ prefix: 'a', suffix: 'b' }] }, 'a[0]', /exactly one key/],
    ['a bad cidr', { ip: [{ cidr: '10.0.0.0/33' }] }, 'ip[0].cidr', /IPv4 or IPv6/],
    ['a cidr without a length', { ip: [{ cidr: '10.0.0.1' }] }, 'ip[0].cidr', /IPv4 or IPv6/],
    ['consecutive wildcards', { a: [{ wildcard: 'a**b' }] }, 'a[0].wildcard', /consecutive/],
    ['a bad escape in a wildcard', { a: [{ wildcard: 'a\\b' }] }, 'a[0].wildcard', /escapes only/],
    ['a numeric operator', { n: [{ numeric: ['!=', 1] }] }, 'n[0].numeric[0]', /unknown numeric operator/],
    ['a numeric string operand', { n: [{ numeric: ['>', '1'] }] }, 'n[0].numeric[1]', /takes a number/],
    ['an odd numeric list', { n: [{ numeric: ['>', 1, '<'] }] }, 'n[0].numeric', /pairs/],
    ['two lower bounds', { n: [{ numeric: ['>', 1, '>=', 2] }] }, 'n[0].numeric[2]', /one lower bound/],
    ['a range that runs backwards', { n: [{ numeric: ['>', 10, '<', 5] }] }, 'n[0].numeric', /not below/],
    ['= with a bound', { n: [{ numeric: ['=', 1, '<', 5] }] }, 'n[0].numeric', /stands alone/],
    ['a number beyond 5e9', { n: [{ numeric: ['>', 6e9] }] }, 'n[0].numeric[1]', /-5e9 and 5e9/],
    [
      'anything-but of mixed types',
      { a: [{ 'anything-but': ['a', 1] }] },
      'a[0].anything-but',
      /only strings or only numbers/,
    ],
    [
      'anything-but numeric',
      { a: [{ 'anything-but': { numeric: ['>', 1] } }] },
      'a[0].anything-but.numeric',
      /does not take/,
    ],
    ['anything-but null', { a: [{ 'anything-but': null }] }, 'a[0].anything-but', /takes a string/],
    ['$or with one alternative', { $or: [{ a: ['x'] }] }, '["$or"]', /at least two/],
    ['$or with a non-object', { $or: [{ a: ['x'] }, 'b'] }, '["$or"][1]', /must be an object/],
    [
      'a problem inside $or',
      { $or: [{ a: ['x'] }, { b: [{ nope: 1 }] }] },
      '["$or"][1].b[0].nope',
      /unknown operator/,
    ],
    ['an object as a value', { a: [{}] }, 'a[0]', /exactly one key/],
  ])('reports %s', (_name, pattern, path, message) => {
    const found = problems(pattern);
    expect(found).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it(`rejects a pattern over ${MAX_PATTERN_CHARS} characters`, () => {
    const pattern = { source: Array.from({ length: 200 }, (_, index) => `source-number-${index}`) };
    expect(JSON.stringify(pattern).length).toBeGreaterThan(MAX_PATTERN_CHARS);
    expect(problems(pattern)).toContainEqual({ path: '(root)', message: expect.stringMatching(/2048/) });
  });

  it('rejects a pattern with too many combinations', () => {
    const ten = Array.from({ length: 10 }, (_, index) => `v${index}`);
    const pattern = { a: ten, b: ten, c: ten, d: ten };
    expect(problems(pattern)).toContainEqual({
      path: '(root)',
      message: expect.stringMatching(/10000 combinations/),
    });
    expect(problems({ a: ten, b: ten, c: ten })).toEqual([]);
  });

  it('counts $or alternatives as combinations', () => {
    const ten = Array.from({ length: 10 }, (_, index) => `v${index}`);
    const pattern = { a: ten, b: ten, $or: [{ c: ten }, { d: ['x'] }] };
    expect(problems(pattern)).toContainEqual({
      path: '(root)',
      message: expect.stringMatching(/1100 combinations/),
    });
  });

  it('compileEventPattern throws on an invalid pattern, and matching a compiled pattern works', () => {
    expect(() => compileEventPattern({ a: [{ nope: 1 }] })).toThrow(/a\[0\]\.nope/);
    const compiled = compileEventPattern({ source: ['aws.ec2'] });
    expect(compiled.matches(EC2)).toBe(true);
    expect(matchesEventPattern(compiled, { source: 'aws.s3' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const key = fc.constantFrom('a', 'b', 'c', 'detail', 'state', 'x-y', 'n');
const scalar = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const event = fc.letrec((tie) => ({
  node: fc.dictionary(
    key,
    fc.oneof({ depthSize: 'small' }, scalar, fc.array(scalar, { minLength: 1, maxLength: 3 }), tie('node')),
    {
      minKeys: 1,
      maxKeys: 4,
    },
  ),
})).node as fc.Arbitrary<Record<string, unknown>>;

/** A pattern made of the event's own values: each leaf [value] (one element of an array). */
function patternFrom(node: Record<string, unknown>, pick: number): EventPattern | undefined {
  const pattern: EventPattern = {};
  for (const [name, value] of Object.entries(node)) {
    if (Array.isArray(value)) pattern[name] = [value[pick % value.length]];
    else if (value !== null && typeof value === 'object') {
      const inner = patternFrom(value as Record<string, unknown>, pick);
      if (inner) pattern[name] = inner;
    } else pattern[name] = [value];
  }
  return Object.keys(pattern).length > 0 ? pattern : undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('pattern properties', () => {
  it('a pattern built from an event’s own values matches it', () => {
    fc.assert(
      fc.property(event, fc.nat(), (source, pick) => {
        const pattern = patternFrom(source, pick);
        if (!pattern || checkEventPattern(pattern).length > 0) return;
        expect(matchesEventPattern(pattern, source)).toBe(true);
      }),
    );
  });

  it('exists true / false split every field', () => {
    fc.assert(
      fc.property(event, key, (source, name) => {
        const present = matchesEventPattern({ [name]: [{ exists: true }] }, source);
        const absent = matchesEventPattern({ [name]: [{ exists: false }] }, source);
        expect(present).toBe(!absent);
      }),
    );
  });

  it('anything-but a scalar string never matches that string, and matches any other', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (excluded, value) => {
        const pattern = { f: [{ 'anything-but': excluded }] };
        expect(matchesEventPattern(pattern, { f: value })).toBe(value !== excluded);
      }),
    );
  });

  it('prefix, suffix and equals-ignore-case agree with String methods', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 }), (part, value) => {
        expect(matchesEventPattern({ f: [{ prefix: part }] }, { f: value })).toBe(value.startsWith(part));
        expect(matchesEventPattern({ f: [{ suffix: part }] }, { f: value })).toBe(value.endsWith(part));
        expect(matchesEventPattern({ f: [{ 'equals-ignore-case': part }] }, { f: value })).toBe(
          part.toLowerCase() === value.toLowerCase(),
        );
      }),
    );
  });

  it('numeric ranges agree with comparisons', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: -150, max: 150 }),
        (a, b, value) => {
          const [low, high] = a < b ? [a, b] : [b - 1, a + 1];
          const pattern = { n: [{ numeric: ['>=', low, '<', high] }] };
          expect(matchesEventPattern(pattern, { n: value })).toBe(value >= low && value < high);
        },
      ),
    );
  });

  it('wildcards agree with an anchored regular expression', () => {
    const small = fc.string({ unit: fc.constantFrom('a', 'b', '*'), maxLength: 8 });
    fc.assert(
      fc.property(small, fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 12 }), (raw, text) => {
        const wildcard = raw.replace(/\*+/g, '*');
        const regex = new RegExp(`^${wildcard.split('*').map(escapeRegExp).join('.*')}$`, 's');
        expect(compileWildcard(wildcard)(text)).toBe(regex.test(text));
      }),
    );
  });

  it('a wildcard match takes linear time on adversarial input', () => {
    const wildcard = compileWildcard(`*${'a*'.repeat(500)}b`);
    const text = 'a'.repeat(200_000);
    const started = performance.now();
    expect(wildcard(text)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
