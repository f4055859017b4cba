/**
 * The copies of answers too large for a Lambda, on S3 (s3rver, a real S3Client): the URL handed out
 * serves the same bytes with their type to anyone who follows it, and to no one after it expires.
 */
import { describe, expect, it } from 'vitest';
import { fitAnswer } from '../../../functions/api/large-answers.js';
import { ANSWER_COPIES_PREFIX, createS3AnswerCopies } from '../../../shared/storage/s3/answer-copies.js';
import { useLocalS3 } from '../../support/stores.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BUCKET = 'flowrunner-data';
const s3 = useLocalS3(BUCKET);

describe('AnswerCopies on S3 (s3rver)', () => {
  it('keeps a copy under answers/ with a random key, served by a presigned URL valid for 5 minutes', async () => {
    const copies = createS3AnswerCopies({ client: s3.client, bucket: BUCKET });
    const body = Buffer.from(JSON.stringify({ id: 'run_1', output: 'é'.repeat(1000) }));

    const url = new URL(await copies.keep(body, 'application/json'));
    const again = new URL(await copies.keep(body, 'application/json'));

    expect(url.pathname).toMatch(new RegExp(`^/${BUCKET}/${ANSWER_COPIES_PREFIX}[0-9a-f]{32}$`));
    expect(again.pathname).not.toBe(url.pathname);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    const served = await fetch(url);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('application/json');
    expect(served.headers.get('cache-control')).toBe('private, no-store');
    expect(Buffer.from(await served.arrayBuffer()).equals(body)).toBe(true);
  });

  it('serves what a client that follows the redirect of a 7 MB answer reads: the whole answer', async () => {
    const copies = createS3AnswerCopies({ client: s3.client, bucket: BUCKET });
    const body = JSON.stringify({
      id: 'run_2',
      output: { rows: Array.from({ length: 70_000 }, (_, i) => `row ${i} ${'z'.repeat(90)}`) },
    });

    const answer = await fitAnswer(
      { statusCode: 200, headers: { 'content-type': 'application/json' }, body },
      copies,
    );

    expect(answer.statusCode).toBe(303);
    const followed = await fetch(String(answer.headers!.location));
    expect(await followed.text()).toBe(body);
  });
});
