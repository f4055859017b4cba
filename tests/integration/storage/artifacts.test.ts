/**
 * The ArtifactStore contract, run against the in-memory store and the S3 store on s3rver (a real
 * S3Client on a loopback endpoint): both must accept, refuse, list and fail alike.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/adapters/clock.js';
import { NotFoundError, ValidationError } from '../../../shared/errors.js';
import type { ArtifactStore } from '../../../shared/ports/index.js';
import { createMemoryArtifacts } from '../../../shared/storage/memory/artifacts.js';
import { copySourceKey, createS3Artifacts } from '../../../shared/storage/s3/artifacts.js';
import { failure } from '../../support/failure.js';
import { startTestS3, useLocalS3 } from '../../support/stores.js';

const CURSOR_KEY = 'artifact-cursor-key-for-tests';
const BUCKET = 'flowrunner-artifacts';

const s3 = useLocalS3(BUCKET);

let runCounter = 0;
/** A fresh run id per test, so the S3 bucket shared by the file never leaks one test's artifacts into another. */
function newRun(): string {
  runCounter += 1;
  return `run_${runCounter}`;
}

const adapters: [string, () => ArtifactStore][] = [
  ['in memory', () => createMemoryArtifacts({ cursorKey: CURSOR_KEY, clock: new ManualClock() })],
  ['on S3 (s3rver)', () => createS3Artifacts({ client: s3.client, bucket: BUCKET, cursorKey: CURSOR_KEY })],
];

describe.each(adapters)('ArtifactStore %s', (_label, create) => {
  let artifacts: ArtifactStore;
  let run: string;
  beforeEach(() => {
    artifacts = create();
    run = newRun();
  });

  describe('put and get', () => {
    it('returns the bytes, size and content type that were put', async () => {
      const body = new Uint8Array([0, 1, 2, 250, 255]);
      const put = await artifacts.put(run, 'images/pixel.bin', body, 'image/x-test');

      const { info, body: read } = await artifacts.get(run, 'images/pixel.bin');

      expect(put).toMatchObject({ name: 'images/pixel.bin', size: 5, content_type: 'image/x-test' });
      expect(info).toMatchObject({ name: 'images/pixel.bin', size: 5, content_type: 'image/x-test' });
      expect(Number.isNaN(Date.parse(info.updated_at))).toBe(false);
      expect([...read]).toEqual([0, 1, 2, 250, 255]);
    });

    it('stores a string as UTF-8 text, and bytes as application/octet-stream, unless told otherwise', async () => {
      await artifacts.put(run, 'note.txt', 'grüße ✓');
      await artifacts.put(run, 'blob', new Uint8Array([1]));

      const note = await artifacts.get(run, 'note.txt');
      const blob = await artifacts.get(run, 'blob');

      expect(Buffer.from(note.body).toString('utf8')).toBe('grüße ✓');
      expect(note.info).toMatchObject({
        size: Buffer.byteLength('grüße ✓'),
        content_type: 'text/plain; charset=utf-8',
      });
      expect(blob.info.content_type).toBe('application/octet-stream');
    });

    it('replaces an artifact that is put again under the same name', async () => {
      await artifacts.put(run, 'report.json', '{"v":1}', 'application/json');
      await artifacts.put(run, 'report.json', '{"v":22}', 'application/json');

      const { info, body } = await artifacts.get(run, 'report.json');

      expect(Buffer.from(body).toString()).toBe('{"v":22}');
      expect(info.size).toBe(8);
    });

    it('keeps the artifacts of different runs apart, even when one run id starts with another', async () => {
      const other = `${run}0`;
      await artifacts.put(run, 'a.txt', 'mine');
      await artifacts.put(other, 'a.txt', 'theirs');

      expect(Buffer.from((await artifacts.get(run, 'a.txt')).body).toString()).toBe('mine');
      expect((await artifacts.list(run)).items.map((item) => item.name)).toEqual(['a.txt']);
    });

    it('getWithin gives the bytes of a file up to the bound, and only the info of a larger one', async () => {
      await artifacts.put(run, 'four.bin', new Uint8Array([1, 2, 3, 4]), 'application/x-four');

      const within = await artifacts.getWithin(run, 'four.bin', 4);
      const beyond = await artifacts.getWithin(run, 'four.bin', 3);

      expect(within.info).toMatchObject({ name: 'four.bin', size: 4, content_type: 'application/x-four' });
      expect([...within.body!]).toEqual([1, 2, 3, 4]);
      expect(beyond.info).toMatchObject({ name: 'four.bin', size: 4, content_type: 'application/x-four' });
      expect(beyond.body).toBeUndefined();
      // The connection left unread is closed, not held: the store goes on serving.
      expect([...(await artifacts.get(run, 'four.bin')).body]).toEqual([1, 2, 3, 4]);
      expect(await failure(artifacts.getWithin(run, 'missing.bin', 10))).toBeInstanceOf(NotFoundError);
    });

    it('fails with NotFoundError for an artifact that does not exist', async () => {
      const error = await failure(artifacts.get(run, 'missing.txt'));

      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.message).toBe("Artifact 'missing.txt' was not found");
    });
  });

  describe('names', () => {
    const refused: [string, string, RegExp][] = [
      ['a parent segment', '../other-run/secret.txt', /'\.\.' segments/],
      ['a parent segment inside', 'a/../../b', /'\.\.' segments/],
      ['a current segment', 'a/./b', /'\.' segments/],
      ['an absolute path', '/etc/passwd', /no leading '\/'/],
      ['a drive letter', 'C:/temp/x', /no drive letter/],
      ['a backslash', 'a\\b.txt', /backslashes/],
      ['a newline', 'a\nb', /control characters/],
      ['a NUL', 'a\u0000b', /control characters/],
      ['a lone surrogate', 'a\ud800b', /valid Unicode/],
      ['an empty segment', 'a//b', /empty segments/],
      ['a trailing slash', 'folder/', /empty segments/],
      ['an empty name', '', /must not be empty/],
      ['257 bytes', `${'x'.repeat(128)}/${'x'.repeat(128)}`, /at most 256 bytes/],
      ['129 two-byte characters', `${'é'.repeat(64)}/${'é'.repeat(65)}`, /at most 256 bytes/],
      ['a part of 201 bytes', `a/${'x'.repeat(201)}`, /each part between '\/' must be at most 200 bytes/],
    ];

    it.each(refused)('refuses %s on every operation, and stores nothing', async (_rule, name, message) => {
      const errors = [
        await failure(artifacts.put(run, name, 'x')),
        await failure(artifacts.get(run, name)),
        await failure(artifacts.delete(run, name)),
        await failure(artifacts.url(run, name)),
      ];

      for (const error of errors) {
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toMatch(message);
        expect((error as ValidationError).issues[0]?.path).toBe('name');
      }
      expect((await artifacts.list(run)).items).toEqual([]);
    });

    it('accepts nested names, dots inside names, parts of 200 bytes and 256 bytes in all', async () => {
      const longest = `${'x'.repeat(200)}/${'y'.repeat(55)}`;
      for (const name of ['reports/2024/q1.summary.csv', '.hidden', longest, 'ünï/cödé ✓.txt']) {
        await artifacts.put(run, name, 'ok');
        expect(Buffer.from((await artifacts.get(run, name)).body).toString()).toBe('ok');
      }
    });

    it('refuses a run id that could leave its prefix', async () => {
      for (const runId of ['../run', 'a/b', '', '..']) {
        const error = await failure(artifacts.put(runId, 'a.txt', 'x'));
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toMatch(/run id/);
      }
    });
  });

  describe('list', () => {
    it('lists a run in name order, page by page, with an opaque cursor', async () => {
      const names = ['b.txt', 'a/z.txt', 'c.txt', 'a/b.txt', 'a.txt'];
      for (const name of names) await artifacts.put(run, name, name);

      const first = await artifacts.list(run, { limit: 2 });
      const second = await artifacts.list(run, { limit: 2, cursor: first.next_cursor! });
      const third = await artifacts.list(run, { limit: 2, cursor: second.next_cursor! });

      expect(first.items.map((item) => item.name)).toEqual(['a.txt', 'a/b.txt']);
      expect(second.items.map((item) => item.name)).toEqual(['a/z.txt', 'b.txt']);
      expect(third.items.map((item) => item.name)).toEqual(['c.txt']);
      expect(third.next_cursor).toBeUndefined();
      expect(first.next_cursor).not.toContain('a/b.txt');
      expect(second.items[1]).toMatchObject({
        name: 'b.txt',
        size: 5,
        content_type: 'text/plain; charset=utf-8',
      });
    });

    it('gives no cursor when everything fitted on the page', async () => {
      await artifacts.put(run, 'only.txt', 'x');

      expect(await artifacts.list(run)).toEqual({ items: [expect.objectContaining({ name: 'only.txt' })] });
    });

    it("refuses another run's cursor, so a cursor cannot be replayed across runs", async () => {
      const other = newRun();
      await artifacts.put(run, 'a.txt', 'x');
      await artifacts.put(run, 'b.txt', 'x');
      const page = await artifacts.list(run, { limit: 1 });

      const error = await failure(artifacts.list(other, { cursor: page.next_cursor! }));

      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe('The cursor is not valid for this list');
    });

    it('refuses a forged cursor', async () => {
      const forged = `${Buffer.from('a.txt').toString('base64url')}.${Buffer.alloc(32).toString('base64url')}`;

      for (const cursor of [forged, 'garbage', '', 'a.b.c']) {
        expect(await failure(artifacts.list(run, { cursor }))).toBeInstanceOf(ValidationError);
      }
    });

    it('refuses a limit outside 1–100', async () => {
      for (const limit of [0, 101, 2.5]) {
        const error = await failure(artifacts.list(run, { limit }));
        expect(error.message).toBe('limit must be an integer from 1 to 100');
      }
    });
  });

  describe('delete', () => {
    it('removes the artifact, and deleting it again succeeds', async () => {
      await artifacts.put(run, 'tmp.txt', 'x');

      await artifacts.delete(run, 'tmp.txt');
      await artifacts.delete(run, 'tmp.txt');

      expect(await failure(artifacts.get(run, 'tmp.txt'))).toBeInstanceOf(NotFoundError);
      expect((await artifacts.list(run)).items).toEqual([]);
    });
  });

  describe('url', () => {
    it('fails with NotFoundError rather than hand out a link to nothing', async () => {
      expect(await failure(artifacts.url(run, 'missing.pdf'))).toBeInstanceOf(NotFoundError);
    });

    it('refuses an expiry outside 1 s to 7 days', async () => {
      await artifacts.put(run, 'a.txt', 'x');

      for (const seconds of [0, 604_801, 1.5]) {
        const error = await failure(artifacts.url(run, 'a.txt', seconds));
        expect(error).toBeInstanceOf(ValidationError);
        expect(error.message).toMatch(/expiresInS must be an integer from 1 to 604800/);
      }
    });
  });
});

describe('ArtifactStore on S3 (s3rver) only', () => {
  const artifacts = () => createS3Artifacts({ client: s3.client, bucket: BUCKET, cursorKey: CURSOR_KEY });

  it('lays artifacts out as runs/<run_id>/artifacts/<name> in the bucket, visible on disk', async () => {
    const run = newRun();
    await artifacts().put(run, 'reports/summary.csv', 'a,b\n1,2\n', 'text/csv');

    const onDisk = join(
      s3.directory,
      BUCKET,
      'runs',
      run,
      'artifacts',
      'reports',
      'summary.csv._S3rver_object',
    );
    expect(existsSync(onDisk)).toBe(true);
  });

  it('hands out a presigned GET URL that serves the artifact, and expires when asked', async () => {
    const run = newRun();
    await artifacts().put(run, 'hello world.txt', 'hello', 'text/plain');

    const url = await artifacts().url(run, 'hello world.txt', 60);
    const response = await fetch(url);

    expect(url.startsWith(`${s3.endpoint}/${BUCKET}/runs/${run}/artifacts/hello%20world.txt?`)).toBe(true);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('60');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello');
  });

  it('maps the NoSuchKey that s3rver answers for a missing object to NotFoundError', async () => {
    const error = await failure(artifacts().get(newRun(), 'nothing-here.txt'));

    expect(error).toBeInstanceOf(NotFoundError);
    expect((error.cause as { name?: string }).name).toBe('NoSuchKey');
  });

  it('maps a missing bucket to StorageUnavailable', async () => {
    const store = createS3Artifacts({ client: s3.client, bucket: 'no-such-bucket', cursorKey: CURSOR_KEY });

    const error = await failure(store.put(newRun(), 'a.txt', 'x'));

    expect(error.code).toBe('StorageUnavailable');
    expect(error.message).toBe("the bucket 'no-such-bucket' does not exist");
  });

  it('keeps its data across a restart of the local S3 on the same directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowrunner-restart-'));
    try {
      const first = await startTestS3('restart-bucket', dir);
      await createS3Artifacts({ client: first.client, bucket: 'restart-bucket', cursorKey: CURSOR_KEY }).put(
        'run_keep',
        'kept.txt',
        'still here',
      );
      await first.close();

      const second = await startTestS3('restart-bucket', dir);
      try {
        const store = createS3Artifacts({
          client: second.client,
          bucket: 'restart-bucket',
          cursorKey: CURSOR_KEY,
        });
        const { body } = await store.get('run_keep', 'kept.txt');

        expect(Buffer.from(body).toString()).toBe('still here');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ArtifactStore.copyIn: an uploaded object becomes a run artifact', () => {
  const SOURCE = 'uploads-source';
  // Keys as people write them: spaces, '+', '%', '#', '&', '=' and more than ASCII, in folders.
  // (Not '?': the local S3 cannot copy such a key; see copySourceKey.)
  const KEYS = ['in/plain.json', 'in/Q1 report+final 100%.csv', 'in/weird#&=$@,;:.txt', 'in/grüße/ü ✓.bin'];
  const bodyOf = (key: string) => new TextEncoder().encode(`body of ${key}`);

  const stores: [string, () => Promise<ArtifactStore>][] = [
    [
      'in memory',
      async () =>
        createMemoryArtifacts({
          cursorKey: CURSOR_KEY,
          buckets: new Map([[SOURCE, new Map(KEYS.map((key) => [key, bodyOf(key)]))]]),
        }),
    ],
    [
      'on S3 (s3rver)',
      async () => {
        const { CreateBucketCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
        await s3.client.send(new CreateBucketCommand({ Bucket: SOURCE })).catch(() => undefined);
        for (const key of KEYS) {
          await s3.client.send(
            new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: bodyOf(key), ContentType: 'text/csv' }),
          );
        }
        return createS3Artifacts({ client: s3.client, bucket: BUCKET, cursorKey: CURSOR_KEY });
      },
    ],
  ];

  it.each(stores)('%s: copies the bytes of every key, and 404s a missing object', async (label, create) => {
    const artifacts = await create();
    const run = newRun();
    for (const [index, key] of KEYS.entries()) {
      const info = await artifacts.copyIn(run, `upload-${index}`, { bucket: SOURCE, key });
      expect(info).toMatchObject({ name: `upload-${index}`, size: bodyOf(key).length });
      const { body } = await artifacts.get(run, `upload-${index}`);
      expect(new TextDecoder().decode(body)).toBe(`body of ${key}`);
    }
    if (label.startsWith('on S3')) {
      // CopyObject keeps the object's metadata.
      expect((await artifacts.get(run, 'upload-0')).info.content_type).toBe('text/csv');
    }
    expect(
      await failure(artifacts.copyIn(run, 'gone', { bucket: SOURCE, key: 'in/missing.json' })),
    ).toBeInstanceOf(NotFoundError);
    expect(
      await failure(artifacts.copyIn(run, '../escape', { bucket: SOURCE, key: KEYS[0]! })),
    ).toBeInstanceOf(ValidationError);
  });
});

describe('copySourceKey', () => {
  it('URL-encodes a key for x-amz-copy-source, keeping "/" and the reserved characters both S3s decode alike', () => {
    expect(copySourceKey('in/a b?c%d+e#f.csv')).toBe('in/a%20b%3Fc%25d+e#f.csv');
    expect(copySourceKey('grüße/ü.bin')).toBe('gr%C3%BC%C3%9Fe/%C3%BC.bin');
  });
});
