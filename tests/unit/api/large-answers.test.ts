import { describe, expect, it } from 'vitest';
import { fitAnswer, LAMBDA_ANSWER_LIMIT_BYTES } from '../../../functions/api/large-answers.js';
import type { AnswerCopies } from '../../../shared/ports/index.js';

/** Keeps what it is given, and names each copy by its number. */
class KeptCopies implements AnswerCopies {
  readonly kept: { body: Buffer; contentType: string }[] = [];
  async keep(body: Uint8Array, contentType: string): Promise<string> {
    this.kept.push({ body: Buffer.from(body), contentType });
    return `https://bucket.example/answers/${this.kept.length}?X-Amz-Signature=s`;
  }
}

const json = (body: string, statusCode = 200) => ({
  statusCode,
  headers: { 'content-type': 'application/json', traceresponse: '00-abc-def-01', vary: 'origin' },
  body,
});

/** The size of the answer as Lambda counts it: the JSON of the whole result. */
const sizeOf = (result: unknown) => Buffer.byteLength(JSON.stringify(result));

describe("fitAnswer: an answer over a Lambda's 6 MB is a redirect to a copy of it", () => {
  it('sends an answer that fits as it is, and copies nothing', async () => {
    const copies = new KeptCopies();
    const small = json(JSON.stringify({ id: 'run_1', output: 'x'.repeat(900_000) }));
    expect(await fitAnswer(small, copies)).toBe(small);
    expect(copies.kept).toEqual([]);
  });

  it('redirects a 7 MB run with 303 to its copy, which holds the same bytes and type; the other headers stay', async () => {
    const copies = new KeptCopies();
    const body = JSON.stringify({ id: 'run_1', output: { text: 'y'.repeat(7_000_000) } });

    const answer = await fitAnswer(json(body), copies);

    expect(answer).toEqual({
      statusCode: 303,
      headers: {
        location: 'https://bucket.example/answers/1?X-Amz-Signature=s',
        'cache-control': 'private, no-store',
        traceresponse: '00-abc-def-01',
        vary: 'origin',
      },
      body: '',
    });
    expect(copies.kept).toHaveLength(1);
    expect(copies.kept[0]!.contentType).toBe('application/json');
    expect(copies.kept[0]!.body.toString('utf8')).toBe(body);
  });

  it('counts the escapes Lambda adds: 4 MB of quotes is an 8 MB answer', async () => {
    const copies = new KeptCopies();
    const body = JSON.stringify(['"'.repeat(2_000_000)]);
    expect(body.length).toBeLessThan(LAMBDA_ANSWER_LIMIT_BYTES);
    expect(sizeOf(json(body))).toBeGreaterThan(LAMBDA_ANSWER_LIMIT_BYTES);

    expect((await fitAnswer(json(body), copies)).statusCode).toBe(303);
    expect(copies.kept[0]!.body.toString('utf8')).toBe(body);
  });

  it('measures to the byte: an answer of exactly the limit is sent, one byte more is copied', async () => {
    const copies = new KeptCopies();
    const answer = json(JSON.stringify({ text: 'é'.repeat(1000) }));
    expect(await fitAnswer(answer, copies, { limit: sizeOf(answer) })).toBe(answer);
    expect((await fitAnswer(answer, copies, { limit: sizeOf(answer) - 1 })).statusCode).toBe(303);
  });

  it('copies a base64 answer as its bytes', async () => {
    const copies = new KeptCopies();
    const bytes = Buffer.from([0, 255, 1, 254, 2]);
    const answer = {
      statusCode: 200,
      headers: { 'content-type': 'image/png' },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    };
    expect((await fitAnswer(answer, copies, { limit: 10 })).statusCode).toBe(303);
    expect(copies.kept[0]).toEqual({ body: bytes, contentType: 'image/png' });
  });

  it('leaves an answer that is not a 200 alone', async () => {
    const copies = new KeptCopies();
    const accepted = json(JSON.stringify({ id: 'run_1' }), 202);
    expect(await fitAnswer(accepted, copies, { limit: 10 })).toBe(accepted);
    expect(copies.kept).toEqual([]);
  });

  it('answers a HEAD with the headers and length of its GET, and copies nothing, whatever its size', async () => {
    const copies = new KeptCopies();
    const body = JSON.stringify({ id: 'run_1', output: 'é'.repeat(4_000_000) });

    const answer = await fitAnswer(json(body), copies, { method: 'HEAD' });

    expect(answer).toEqual({
      statusCode: 200,
      headers: { ...json(body).headers, 'content-length': String(Buffer.byteLength(body)) },
      body: '',
    });
    expect(copies.kept).toEqual([]);
  });
});
