/**
 * The claim check (LargePayloads): large parts of a run's state move to content-addressed blobs and
 * come back transparently, on in-memory blobs and on S3 (s3rver with a real S3Client).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowrunnerError, StorageError } from '../../../shared/errors.js';
import {
  type Claim,
  createClaimCheck,
  createMemoryPayloadBlobs,
  isClaim,
  MAX_BLOB_REQUESTS,
  type PayloadBlobs,
} from '../../../shared/storage/claim-check.js';
import { createS3PayloadBlobs } from '../../../shared/storage/s3/payload-blobs.js';
import { useLocalS3 } from '../../support/stores.js';

const KB = 1024;
const BUCKET = 'flowrunner-payloads';

const s3 = useLocalS3(BUCKET);

/** Blobs that count what the claim check asks of them. */
function counted(blobs: PayloadBlobs) {
  const calls = { has: 0, put: 0, get: 0, putKeys: [] as string[] };
  const wrapped: PayloadBlobs = {
    has: (key) => {
      calls.has++;
      return blobs.has(key);
    },
    put: (key, body) => {
      calls.put++;
      calls.putKeys.push(key);
      return blobs.put(key, body);
    },
    get: (key) => {
      calls.get++;
      return blobs.get(key);
    },
  };
  return { blobs: wrapped, calls };
}

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

function claimsIn(value: unknown): Claim[] {
  if (isClaim(value)) return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(claimsIn);
}

/** A step output of about 1 MB: many records, as an API might answer. */
function largeOutput(seed = 'x') {
  return {
    status: 200,
    body: {
      items: Array.from({ length: 4000 }, (_, i) => ({
        id: `${seed}-${i}`,
        text: 'lorem ipsum '.repeat(20),
      })),
    },
  };
}

let runCounter = 0;
function newRun(): string {
  runCounter += 1;
  return `run_claims_${runCounter}`;
}

const backends: [string, () => PayloadBlobs][] = [
  ['in-memory blobs', () => createMemoryPayloadBlobs()],
  ['S3 blobs (s3rver)', () => createS3PayloadBlobs({ client: s3.client, bucket: BUCKET })],
];

describe.each(backends)('claim check on %s', (_label, createBlobs) => {
  it('round-trips a 1 MB step output, and the offloaded state stays under 64 KB (and 256 KB)', async () => {
    const run = newRun();
    const claims = createClaimCheck({ blobs: createBlobs() });
    const state = {
      run_id: run,
      status: 'running',
      steps: { fetch: { status: 'succeeded', output: largeOutput() } },
    };
    expect(bytes(state)).toBeGreaterThan(1024 * KB);

    const offloaded = await claims.offload(run, state);
    const restored = await claims.restore(offloaded);

    expect(bytes(offloaded)).toBeLessThanOrEqual(64 * KB);
    expect(bytes(offloaded)).toBeLessThan(256 * KB);
    expect(restored).toEqual(state);
  });

  it('moves the innermost part that is too large on its own, and keeps everything around it inline', async () => {
    const run = newRun();
    const claims = createClaimCheck({ blobs: createBlobs() });
    const output = largeOutput();

    const offloaded = await claims.offload(run, { status: 'running', steps: { fetch: { output } } });

    // The list of items is above 64 KB on its own (each item is small): it moves, and only it.
    expect(offloaded).toEqual({
      status: 'running',
      steps: {
        fetch: {
          output: {
            status: 200,
            body: {
              items: {
                $claim: expect.stringMatching(new RegExp(`^runs/${run}/payloads/[0-9a-f]{64}\\.json$`)),
                size: bytes(output.body.items),
              },
            },
          },
        },
      },
    });
  });

  it('writes nothing new when the same value is offloaded again, even by another process', async () => {
    const run = newRun();
    const blobs = createBlobs();
    const state = { steps: { fetch: { output: largeOutput() } } };
    const first = counted(blobs);
    const once = await createClaimCheck({ blobs: first.blobs }).offload(run, state);

    const second = counted(blobs);
    const otherProcess = createClaimCheck({ blobs: second.blobs });
    const again = await otherProcess.offload(run, state);
    const headsOfFirstRepeat = second.calls.has;
    await otherProcess.offload(run, state);

    expect(again).toEqual(once);
    expect(first.calls.put).toBe(1);
    expect(second.calls.put).toBe(0);
    expect(headsOfFirstRepeat).toBe(1);
    // A repeat in the same process remembers the key and does not even ask.
    expect(second.calls.has).toBe(1);
  });

  it('returns a small value as it is, without touching storage', async () => {
    const { blobs, calls } = counted(createBlobs());
    const claims = createClaimCheck({ blobs });
    const small = { a: 1, b: ['x', 'y'], c: { d: null } };

    expect(await claims.offload(newRun(), small)).toBe(small);
    expect(await claims.restore(small)).toBe(small);
    expect(calls).toMatchObject({ has: 0, put: 0, get: 0 });
  });
});

describe('claim check on S3 (s3rver) only', () => {
  it('stores each payload as JSON under runs/<run_id>/payloads/<sha256>.json', async () => {
    const run = newRun();
    const claims = createClaimCheck({ blobs: createS3PayloadBlobs({ client: s3.client, bucket: BUCKET }) });
    const output = largeOutput('stored');

    const offloaded = await claims.offload(run, { output });
    const [claim] = claimsIn(offloaded);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: claim!.$claim }));
    const text = await object.Body!.transformToString();

    expect(object.ContentType).toBe('application/json');
    expect(JSON.parse(text)).toEqual(output.body.items);
    expect(claim!.$claim).toBe(
      `runs/${run}/payloads/${createHash('sha256').update(text).digest('hex')}.json`,
    );
    expect(claim!.size).toBe(Buffer.byteLength(text));
  });

  it('refuses a payload that was changed in storage', async () => {
    const run = newRun();
    const claims = createClaimCheck({ blobs: createS3PayloadBlobs({ client: s3.client, bucket: BUCKET }) });
    const offloaded = await claims.offload(run, { output: largeOutput('tampered') });
    const [claim] = claimsIn(offloaded);
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: claim!.$claim, Body: '{"forged":true}' }),
    );

    await expect(
      createClaimCheck({ blobs: createS3PayloadBlobs({ client: s3.client, bucket: BUCKET }) }).restore(
        offloaded,
      ),
    ).rejects.toMatchObject({ code: 'PayloadCorrupt' });
  });
});

describe('claim check rules', () => {
  const claims = () => createClaimCheck({ blobs: createMemoryPayloadBlobs(), thresholdBytes: 4 * KB });

  it('moves the largest parts first and stops once the whole fits', async () => {
    const claimCheck = claims();
    // 3 KB + 2 KB + 1 KB + small: above 4 KB together, each below it on its own.
    const value = { big: 'b'.repeat(3 * KB), mid: 'm'.repeat(2 * KB), low: 'l'.repeat(KB), id: 'run' };

    const offloaded = (await claimCheck.offload('run_1', value)) as Record<string, unknown>;

    expect(isClaim(offloaded.big)).toBe(true);
    expect(offloaded.mid).toBe(value.mid);
    expect(offloaded.low).toBe(value.low);
    expect(offloaded.id).toBe('run');
    expect(bytes(offloaded)).toBeLessThanOrEqual(4 * KB);
    expect(await claimCheck.restore(offloaded)).toEqual(value);
  });

  it('moves the whole value when only many small parts make it large', async () => {
    const claimCheck = claims();
    const value = Array.from({ length: 2000 }, (_, i) => i);

    const offloaded = await claimCheck.offload('run_1', value);

    expect(isClaim(offloaded)).toBe(true);
    expect(await claimCheck.restore(offloaded)).toEqual(value);
  });

  it('moves a large string at the top level as a whole', async () => {
    const claimCheck = claims();
    const value = 's'.repeat(10 * KB);

    const offloaded = await claimCheck.offload('run_1', value);

    expect(offloaded).toEqual({
      $claim: expect.stringMatching(/^runs\/run_1\/payloads\//),
      size: 10 * KB + 2,
    });
    expect(await claimCheck.restore(offloaded)).toBe(value);
  });

  it('leaves a claim of the same run alone, and restores claims nested inside claimed payloads', async () => {
    const claimCheck = claims();
    const first = await claimCheck.offload('run_1', { a: 'a'.repeat(5 * KB) });

    expect(await claimCheck.offload('run_1', first)).toEqual(first);
    const claimOfA = (first as { a: Claim }).a;
    expect(await claimCheck.offload('run_1', claimOfA)).toBe(claimOfA);

    // The earlier state, claim included, becomes part of a larger one that is claimed as a whole.
    const outer = await claimCheck.offload('run_1', { earlier: first, more: 'm'.repeat(5 * KB) });
    expect(await claimCheck.restore(outer)).toEqual({
      earlier: { a: 'a'.repeat(5 * KB) },
      more: 'm'.repeat(5 * KB),
    });
  });

  it(`has at most ${MAX_BLOB_REQUESTS} blob requests under way, however many claims a value holds`, async () => {
    const memory = createMemoryPayloadBlobs();
    let running = 0;
    let most = 0;
    /** Each request takes a turn of the event loop, so that requests overlap if they are let. */
    const slow =
      <T>(request: () => Promise<T>) =>
      async (): Promise<T> => {
        running++;
        most = Math.max(most, running);
        try {
          await new Promise((resolve) => setImmediate(resolve));
          return await request();
        } finally {
          running--;
        }
      };
    const blobs: PayloadBlobs = {
      has: (key) => slow(() => memory.has(key))(),
      put: (key, body) => slow(() => memory.put(key, body))(),
      get: (key) => slow(() => memory.get(key))(),
    };
    // A long loop's completions, each with an output of its own above the threshold.
    const completions = Array.from({ length: 300 }, (_, i) => ({
      visit: i + 1,
      output: `${i}`.padEnd(5 * KB, 'o'),
    }));
    const stored = await createClaimCheck({ blobs, thresholdBytes: 4 * KB }).offload('run_1', completions);
    expect(claimsIn(stored).length).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(MAX_BLOB_REQUESTS);
    most = 0;
    // Another process (no key remembered) reads them all back.
    expect(await createClaimCheck({ blobs, thresholdBytes: 4 * KB }).restore(stored)).toEqual(completions);
    expect(most).toBe(MAX_BLOB_REQUESTS);
  });

  it('leaves the claims at the places it is told to, loads every other one, and needs no HEAD to store them again', async () => {
    const { blobs, calls } = counted(createMemoryPayloadBlobs());
    const kept = (i: number) => ({ visit: i, text: `${i}`.padEnd(5 * KB, 'k') });
    // A state whose step output is also the last completion's (one payload, two places), with more
    // completions than fit inline, so that the array is claimed too (its outputs' claims inside), and
    // a user key `$claim`.
    const state = {
      steps: { a: { output: kept(40) } },
      completions: Array.from({ length: 40 }, (_, i) => ({
        step_id: 'a',
        visit: i + 1,
        output: kept(i + 1),
      })),
      user: { $claim: 'mine', size: 1 },
    };
    const stored = await createClaimCheck({ blobs, thresholdBytes: 4 * KB }).offload('run_1', state);
    const other = createClaimCheck({ blobs, thresholdBytes: 4 * KB });
    calls.get = 0;
    calls.has = 0;
    const leave = (path: readonly (string | number)[]) =>
      path.length === 3 && path[0] === 'completions' && path[2] === 'output';
    const restored = (await other.restore(stored, { leave })) as typeof state;
    // The step output (the last completion's too) and the completions array (claimed as a whole).
    expect(isClaim((stored as { completions: unknown }).completions)).toBe(true);
    expect(calls.get).toBe(2);
    expect(restored.steps).toEqual(state.steps);
    expect(restored.user).toEqual(state.user);
    expect(restored.completions.map(({ step_id, visit }) => ({ step_id, visit }))).toEqual(
      state.completions.map(({ step_id, visit }) => ({ step_id, visit })),
    );
    // Stored again as it is: nothing written, nothing asked of storage.
    calls.put = 0;
    expect(await other.offload('run_1', restored)).toEqual(stored);
    expect(calls.has + calls.put).toBe(0);
    for (const [i, completion] of restored.completions.entries()) {
      expect(isClaim(completion.output)).toBe(true);
      expect(await other.restoreKept(completion.output)).toEqual(state.completions[i]!.output);
    }
    // Only what restore left is read back: user data shaped like a claim is not, nor a claim that
    // another claim check left.
    const lookAlike = { $claim: (restored.completions[0]!.output as unknown as Claim).$claim, size: 1 };
    expect(await other.restoreKept(lookAlike)).toBe(lookAlike);
    const third = createClaimCheck({ blobs, thresholdBytes: 4 * KB });
    const leftByOther = restored.completions[0]!.output;
    expect(await third.restoreKept(leftByOther)).toBe(leftByOther);
  });

  it('keeps a key it meets again among the keys it knows, rather than forgetting the oldest', async () => {
    const { blobs, calls } = counted(createMemoryPayloadBlobs());
    const claims = createClaimCheck({ blobs, thresholdBytes: 1 * KB });
    const value = (i: number) => ({ part: `${i}`.padEnd(2 * KB, 'p') });
    // As many payloads as it remembers (10,000): the first is the oldest it knows.
    const stored: unknown[] = [];
    for (let i = 0; i < 10_000; i++) stored.push(await claims.offload('run_1', value(i)));
    // The newest met again, ten times (a restore that leaves it in place remembers it).
    for (let i = 0; i < 10; i++) await claims.restore({ output: stored[9_999] }, { leave: () => true });
    calls.has = 0;
    calls.put = 0;
    expect(await claims.offload('run_1', value(0))).toEqual(stored[0]);
    expect(calls.has + calls.put).toBe(0);
  });

  it('keeps a key it stores again among the newest it knows', async () => {
    const { blobs, calls } = counted(createMemoryPayloadBlobs());
    const claims = createClaimCheck({ blobs, thresholdBytes: 1 * KB });
    const value = (i: number) => ({ part: `${i}`.padEnd(2 * KB, 'p') });
    for (let i = 0; i < 10_000; i++) await claims.offload('run_1', value(i));
    // The oldest is stored again (each commit stores a large output again), then one more key comes.
    await claims.offload('run_1', value(0));
    await claims.offload('run_1', value(10_000));
    calls.has = 0;
    await claims.offload('run_1', value(0));
    expect(calls.has).toBe(0);
  });

  it('keeps user objects that use $claim keys intact through a round trip', async () => {
    const claimCheck = claims();
    const foreign = { $claim: `runs/other_run/payloads/${'0'.repeat(64)}.json`, size: 3 };
    const value = {
      lookalike: foreign,
      plain: { $claim: 'not a key', note: 'user data' },
      escaped: { $$claim: 'two', $$$claim: 'three', claim: 'none' },
      big: 'b'.repeat(5 * KB),
    };

    const offloaded = await claimCheck.offload('run_1', value);
    const restored = await claimCheck.restore(offloaded);

    expect(restored).toEqual(value);
    expect((offloaded as { lookalike: unknown }).lookalike).toEqual({ $$claim: foreign.$claim, size: 3 });
    expect(claimsIn(offloaded)).toHaveLength(1);
  });

  it('escapes $claim keys even in small values, and look-alike claims of payloads that do not exist', async () => {
    const claimCheck = claims();
    const withExtra = { $claim: `runs/run_1/payloads/${'a'.repeat(64)}.json`, size: 1, extra: true };
    const otherRun = { $claim: `runs/run_2/payloads/${'a'.repeat(64)}.json`, size: 1 };
    const madeUp = { $claim: `runs/run_1/payloads/${'c'.repeat(64)}.json`, size: 1 };

    const stored = await Promise.all(
      [withExtra, otherRun, madeUp].map((v) => claimCheck.offload('run_1', v)),
    );

    expect(stored).toEqual([
      { $$claim: withExtra.$claim, size: 1, extra: true },
      { $$claim: otherRun.$claim, size: 1 },
      { $$claim: madeUp.$claim, size: 1 },
    ]);
    expect(await Promise.all(stored.map((v) => claimCheck.restore(v)))).toEqual([
      withExtra,
      otherRun,
      madeUp,
    ]);
  });

  it('fails with PayloadMissing when a claimed payload is gone', async () => {
    const claim = { $claim: `runs/run_1/payloads/${'b'.repeat(64)}.json`, size: 10 };

    const error = await claims()
      .restore({ output: claim })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({
      code: 'PayloadMissing',
      message: `the stored payload '${claim.$claim}' is missing`,
    });
  });

  it('stores what JSON would: undefined fields dropped, dates as strings', async () => {
    const claimCheck = claims();
    const value = {
      at: new Date('2026-01-01T00:00:00Z'),
      gone: undefined,
      list: [undefined, 1],
      big: 'x'.repeat(5 * KB),
    };

    const restored = await claimCheck.restore(await claimCheck.offload('run_1', value));

    expect(restored).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('keeps an own __proto__ key as data', async () => {
    const claimCheck = claims();
    const value = JSON.parse(
      `{"__proto__": {"polluted": true}, "$claim": 1, "big": "${'x'.repeat(5 * KB)}"}`,
    );

    const restored = (await claimCheck.restore(await claimCheck.offload('run_1', value))) as object;

    expect(Object.getPrototypeOf(restored)).toBe(Object.prototype);
    expect(Object.keys(restored)).toEqual(['__proto__', '$claim', 'big']);
    expect(JSON.stringify(restored)).toBe(JSON.stringify(value));
  });

  it('refuses a run id that could leave its prefix', async () => {
    await expect(claims().offload('../other', { a: 'x'.repeat(5 * KB) })).rejects.toBeInstanceOf(
      FlowrunnerError,
    );
  });

  it('round-trips any JSON value and always ends within the threshold', async () => {
    const key = fc.constantFrom('$claim', '$$claim', 'size', 'a', 'b', 'claim');
    const text = fc.oneof(fc.string(), {
      arbitrary: fc.string({ minLength: 300, maxLength: 3000 }),
      weight: 2,
    });
    const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
    const lookalike = fc.record({
      $claim: fc
        .tuple(fc.constantFrom('run_p', 'run_q'), hash)
        .map(([run, h]) => `runs/${run}/payloads/${h}.json`),
      size: fc.nat(),
    });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        text,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        lookalike,
        fc.array(tie('value'), { maxLength: 6 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    })).value;

    await fc.assert(
      fc.asyncProperty(json, async (value) => {
        const claimCheck = createClaimCheck({ blobs: createMemoryPayloadBlobs(), thresholdBytes: 1024 });
        const offloaded = await claimCheck.offload('run_p', value);
        expect(bytes(offloaded)).toBeLessThanOrEqual(1024);
        expect(await claimCheck.restore(offloaded)).toEqual(value);
      }),
      { numRuns: 200 },
    );
  });
});
