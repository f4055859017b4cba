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

const ROWS: Row[] = [
  // Exact values, fields ANDed, values ORed (event patterns page).
  {
    name: 'EC2 termination pattern matches the EC2 event',
    pattern: {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    },
    event: EC2,
    expected: true,
  },
  {
    name: 'EC2 termination pattern does not match a running instance',
    pattern: { source: ['aws.ec2'], detail: { state: ['terminated'] } },
    event: withDetail({ state: 'running' }),
    expected: false,
  },
  {
    name: 'matching is case-sensitive',
    pattern: { detail: { state: ['Terminated'] } },
    event: EC2,
    expected: false,
  },
  {
    name: 'any value of the list may match',
    pattern: { detail: { state: ['pending', 'terminated'] } },
    event: EC2,
    expected: true,
  },
  {
    name: 'a field the event lacks does not match',
    pattern: { detail: { reason: ['x'] } },
    event: EC2,
    expected: false,
  },
  {
    name: 'fields are ANDed: Location and Day',
    pattern: { Location: ['New York'], Day: ['Monday'] },
    event: { Location: 'New York', Day: 'Monday' },
    expected: true,
  },
  {
    name: 'fields are ANDed: one differs',
    pattern: { Location: ['New York'], Day: ['Monday'] },
    event: { Location: 'New York', Day: 'Tuesday' },
    expected: false,
  },
  {
    name: 'fields the pattern leaves out are ignored',
    pattern: { region: ['us-west-1'] },
    event: EC2,
    expected: true,
  },
  {
    name: 'a nested field needs the same nesting',
    pattern: { state: ['terminated'] },
    event: EC2,
    expected: false,
  },
  // Arrays.
  {
    name: 'arrays: non-empty intersection of pattern and event arrays',
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    event: {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    },
    expected: true,
  },
  {
    name: 'arrays: empty intersection',
    pattern: { resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f'] },
    event: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
    expected: false,
  },
  {
    name: 'arrays of objects: one element matches',
    pattern: { detail: { items: { sku: ['b-2'] } } },
    event: withDetail({ items: [{ sku: 'a-1' }, { sku: 'b-2' }] }),
    expected: true,
  },
  {
    name: 'arrays of objects: no element matches',
    pattern: { detail: { items: { sku: ['c-3'] } } },
    event: withDetail({ items: [{ sku: 'a-1' }, { sku: 'b-2' }] }),
    expected: false,
  },
  // Prefix.
  {
    name: 'prefix matches the start',
    pattern: { time: [{ prefix: '2017-12-22' }] },
    event: EC2,
    expected: true,
  },
  { name: 'prefix: another day', pattern: { time: [{ prefix: '2017-10-02' }] }, event: EC2, expected: false },
  {
    name: 'prefix is case-sensitive',
    pattern: { source: [{ prefix: 'AWS.' }] },
    event: EC2,
    expected: false,
  },
  {
    name: 'prefix does not match numbers',
    pattern: { n: [{ prefix: '12' }] },
    event: { n: 123 },
    expected: false,
  },
  {
    name: 'prefix with equals-ignore-case: EventB matches EVENTBRIDGE',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: withDetail({ service: 'EVENTBRIDGE' }),
    expected: true,
  },
  {
    name: 'prefix with equals-ignore-case: eventbridge',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: withDetail({ service: 'eventbridge' }),
    expected: true,
  },
  {
    name: 'prefix with equals-ignore-case: another prefix',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    event: withDetail({ service: 'Lambda' }),
    expected: false,
  },
  // Suffix.
  {
    name: 'suffix .png matches',
    pattern: { FileName: [{ suffix: '.png' }] },
    event: { FileName: 'image.png' },
    expected: true,
  },
  {
    name: 'suffix .png: jpg',
    pattern: { FileName: [{ suffix: '.png' }] },
    event: { FileName: 'image.jpg' },
    expected: false,
  },
  {
    name: 'suffix is case-sensitive',
    pattern: { FileName: [{ suffix: '.png' }] },
    event: { FileName: 'image.PNG' },
    expected: false,
  },
  {
    name: 'suffix with equals-ignore-case matches .PNG',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: withDetail({ FileName: 'photo.PNG' }),
    expected: true,
  },
  {
    name: 'suffix with equals-ignore-case: .gif',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    event: withDetail({ FileName: 'photo.gif' }),
    expected: false,
  },
  // Equals-ignore-case.
  {
    name: 'equals-ignore-case matches any casing',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
    event: EC2,
    expected: true,
  },
  {
    name: 'equals-ignore-case is not a prefix',
    pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance' }] },
    event: EC2,
    expected: false,
  },
  // Anything-but.
  {
    name: 'anything-but a string: another state',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: withDetail({ state: 'running' }),
    expected: true,
  },
  {
    name: 'anything-but a string: that state',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: withDetail({ state: 'initializing' }),
    expected: false,
  },
  {
    name: 'anything-but needs the field to be present',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: withDetail({}),
    expected: false,
  },
  {
    name: 'anything-but a number: another number',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    event: withDetail({ 'x-limit': 456 }),
    expected: true,
  },
  {
    name: 'anything-but a number: that number',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    event: withDetail({ 'x-limit': 123 }),
    expected: false,
  },
  {
    name: 'anything-but a list of strings: not in it',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    event: withDetail({ state: 'running' }),
    expected: true,
  },
  {
    name: 'anything-but a list of strings: in it',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    event: withDetail({ state: 'overloaded' }),
    expected: false,
  },
  {
    name: 'anything-but a list of numbers: not in it',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    event: withDetail({ 'x-limit': 150 }),
    expected: true,
  },
  {
    name: 'anything-but a list of numbers: in it',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    event: withDetail({ 'x-limit': 200 }),
    expected: false,
  },
  {
    name: 'anything-but prefix: another prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: withDetail({ state: 'running' }),
    expected: true,
  },
  {
    name: 'anything-but prefix: that prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    event: withDetail({ state: 'initializing' }),
    expected: false,
  },
  {
    name: 'anything-but a list of prefixes: us- and eu-',
    pattern: { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
    event: { region: 'eu-west-1' },
    expected: false,
  },
  {
    name: 'anything-but a list of prefixes: ap-',
    pattern: { region: [{ 'anything-but': { prefix: ['us-', 'eu-'] } }] },
    event: { region: 'ap-south-1' },
    expected: true,
  },
  {
    name: 'anything-but suffix: another extension',
    pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    event: withDetail({ FileName: 'data.csv' }),
    expected: true,
  },
  {
    name: 'anything-but suffix: that extension',
    pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } },
    event: withDetail({ FileName: 'notes.txt' }),
    expected: false,
  },
  {
    name: 'anything-but equals-ignore-case: another casing is excluded too',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } },
    event: withDetail({ state: 'INITIALIZING' }),
    expected: false,
  },
  {
    name: 'anything-but equals-ignore-case list: Stopped/OverLoaded vs running',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    event: withDetail({ state: 'running' }),
    expected: true,
  },
  {
    name: 'anything-but equals-ignore-case list: stopped',
    pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] } },
    event: withDetail({ state: 'stopped' }),
    expected: false,
  },
  {
    name: 'anything-but wildcard: a path without /lib/',
    pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    event: { FilePath: '/usr/bin/env' },
    expected: true,
  },
  {
    name: 'anything-but wildcard: a path with /lib/',
    pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    event: { FilePath: '/usr/lib/libc.so' },
    expected: false,
  },
  {
    name: 'anything-but on an array: one element is not excluded',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    event: withDetail({ state: ['initializing', 'running'] }),
    expected: true,
  },
  // Numeric.
  {
    name: 'numeric range > 0, <= 5: 5',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: withDetail({ 'c-count': 5 }),
    expected: true,
  },
  {
    name: 'numeric range > 0, <= 5: 0',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: withDetail({ 'c-count': 0 }),
    expected: false,
  },
  {
    name: 'numeric range > 0, <= 5: 6',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: withDetail({ 'c-count': 6 }),
    expected: false,
  },
  {
    name: 'numeric never matches a string',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } },
    event: withDetail({ 'c-count': '5' }),
    expected: false,
  },
  {
    name: 'numeric < 10 with a fraction',
    pattern: { detail: { 'd-count': [{ numeric: ['<', 10] }] } },
    event: withDetail({ 'd-count': 9.99 }),
    expected: true,
  },
  {
    name: 'numeric = 3.018e2 matches 301.8',
    pattern: { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
    event: withDetail({ 'x-limit': 301.8 }),
    expected: true,
  },
  {
    name: 'numeric = 3.018e2: 301.9',
    pattern: { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
    event: withDetail({ 'x-limit': 301.9 }),
    expected: false,
  },
  {
    name: 'numeric >= 10 includes 10',
    pattern: { price: [{ numeric: ['>=', 10] }] },
    event: { price: 10 },
    expected: true,
  },
  {
    name: 'numeric > 10, < 20 excludes 20',
    pattern: { price: [{ numeric: ['>', 10, '<', 20] }] },
    event: { price: 20 },
    expected: false,
  },
  { name: 'exact number: Price is 100', pattern: { Price: [100] }, event: { Price: 100 }, expected: true },
  {
    name: 'exact number compares values: 1e2',
    pattern: { Price: [100] },
    event: { Price: 1e2 },
    expected: true,
  },
  {
    name: 'exact number does not match the string "100"',
    pattern: { Price: [100] },
    event: { Price: '100' },
    expected: false,
  },
  // IP address.
  {
    name: 'cidr IPv4: inside 10.0.0.0/24',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    event: withDetail({ 'source-ip': '10.0.0.255' }),
    expected: true,
  },
  {
    name: 'cidr IPv4: outside 10.0.0.0/24',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    event: withDetail({ 'source-ip': '10.0.1.1' }),
    expected: false,
  },
  {
    name: 'cidr IPv6: inside 2001:db8::/64',
    pattern: { detail: { 'source-ip': [{ cidr: '2001:db8::/64' }] } },
    event: withDetail({ 'source-ip': '2001:db8::ff00:42:8329' }),
    expected: true,
  },
  {
    name: 'cidr IPv6: outside 2001:db8::/64',
    pattern: { detail: { 'source-ip': [{ cidr: '2001:db8::/64' }] } },
    event: withDetail({ 'source-ip': '2001:db8:0:1::1' }),
    expected: false,
  },
  {
    name: 'cidr: not an address',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
    event: withDetail({ 'source-ip': 'ten.zero' }),
    expected: false,
  },
  {
    name: 'cidr: an IPv6 address against an IPv4 block',
    pattern: { detail: { 'source-ip': [{ cidr: '10.0.0.0/8' }] } },
    event: withDetail({ 'source-ip': '::1' }),
    expected: false,
  },
  // Exists.
  {
    name: 'exists true: the field is there',
    pattern: { detail: { state: [{ exists: true }] } },
    event: EC2,
    expected: true,
  },
  {
    name: 'exists true: the field is not there',
    pattern: { detail: { 'c-count': [{ exists: true }] } },
    event: EC2,
    expected: false,
  },
  {
    name: 'exists false: the field is not there',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    event: EC2,
    expected: true,
  },
  {
    name: 'exists false: the field is there',
    pattern: { detail: { state: [{ exists: false }] } },
    event: EC2,
    expected: false,
  },
  {
    name: 'exists works on leaf nodes only: an object is not a leaf',
    pattern: { detail: [{ exists: true }] },
    event: EC2,
    expected: false,
  },
  {
    name: 'exists false when the whole parent is missing',
    pattern: { detail: { nested: { flag: [{ exists: false }] } } },
    event: EC2,
    expected: true,
  },
  {
    name: 'exists true: a null value is present',
    pattern: { detail: { UserID: [{ exists: true }] } },
    event: withDetail({ UserID: null }),
    expected: true,
  },
  // Null and empty.
  {
    name: 'null matches null: UserID is null',
    pattern: { UserID: [null] },
    event: { UserID: null },
    expected: true,
  },
  { name: 'null does not match a missing field', pattern: { UserID: [null] }, event: {}, expected: false },
  {
    name: 'null does not match the empty string',
    pattern: { UserID: [null] },
    event: { UserID: '' },
    expected: false,
  },
  {
    name: 'empty string: LastName is empty',
    pattern: { LastName: [''] },
    event: { LastName: '' },
    expected: true,
  },
  {
    name: 'empty string does not match null',
    pattern: { LastName: [''] },
    event: { LastName: null },
    expected: false,
  },
  { name: 'booleans match booleans', pattern: { enabled: [true] }, event: { enabled: true }, expected: true },
  {
    name: 'a boolean does not match its string',
    pattern: { enabled: [true] },
    event: { enabled: 'true' },
    expected: false,
  },
  // Wildcard.
  {
    name: 'wildcard dir/*.png matches dir/file.png',
    pattern: { EventBusArn: [{ wildcard: 'dir/*.png' }] },
    event: { EventBusArn: 'dir/file.png' },
    expected: true,
  },
  {
    name: 'wildcard * crosses slashes',
    pattern: { EventBusArn: [{ wildcard: 'dir/*.png' }] },
    event: { EventBusArn: 'dir/sub/dir/file.png' },
    expected: true,
  },
  {
    name: 'wildcard: another extension',
    pattern: { EventBusArn: [{ wildcard: 'dir/*.png' }] },
    event: { EventBusArn: 'dir/file.jpg' },
    expected: false,
  },
  {
    name: 'wildcard with several stars',
    pattern: { arn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    event: { arn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders' },
    expected: true,
  },
  {
    name: 'wildcard with several stars: another region',
    pattern: { arn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    event: { arn: 'arn:aws:events:eu-west-1:123456789012:event-bus/orders' },
    expected: false,
  },
  {
    name: 'wildcard: an escaped star is a literal star',
    pattern: { name: [{ wildcard: 'a\\*b' }] },
    event: { name: 'a*b' },
    expected: true,
  },
  {
    name: 'wildcard: an escaped star does not match other text',
    pattern: { name: [{ wildcard: 'a\\*b' }] },
    event: { name: 'axxb' },
    expected: false,
  },
  // $or.
  {
    name: '$or: Location is New York or Day is Monday (Day)',
    pattern: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
    event: { Location: 'Boston', Day: 'Monday' },
    expected: true,
  },
  {
    name: '$or: neither',
    pattern: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
    event: { Location: 'Boston', Day: 'Friday' },
    expected: false,
  },
  {
    name: '$or of numeric matches: d-count < 10',
    pattern: {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    event: withDetail({ 'd-count': 3 }),
    expected: true,
  },
  {
    name: '$or of numeric matches: none',
    pattern: {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    event: withDetail({ 'c-count': 7, 'd-count': 11 }),
    expected: false,
  },
  {
    name: '$or ANDed with the fields beside it',
    pattern: { source: ['aws.ec2'], $or: [{ region: ['us-east-1'] }, { region: ['us-west-1'] }] },
    event: { ...EC2, source: 'aws.s3' },
    expected: false,
  },
  {
    name: '$or nested in $or',
    pattern: {
      source: ['aws.ec2'],
      $or: [
        { region: ['eu-west-1'] },
        { $or: [{ account: ['111122223333'] }, { account: ['444455556666'] }] },
      ],
    },
    event: EC2,
    expected: true,
  },
  {
    name: '$or alternatives with several fields each',
    pattern: {
      $or: [
        { source: ['aws.s3'], 'detail-type': ['Object Created'] },
        { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
      ],
    },
    event: EC2,
    expected: true,
  },
  // Several operators in one list: any may match.
  {
    name: 'mixed list: a prefix or an exact value',
    pattern: { detail: { state: [{ prefix: 'stop' }, 'terminated'] } },
    event: EC2,
    expected: true,
  },
  {
    name: 'mixed list: exists false or a value',
    pattern: { detail: { reason: [{ exists: false }, 'user'] } },
    event: EC2,
    expected: true,
  },
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
