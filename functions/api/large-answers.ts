/**
 * A Lambda's answer is at most 6 MB: the whole JSON of the result, escapes and base64 included. A
 * larger answer failed there (a 500 from API Gateway) where the local server sent it: a run whose
 * output is a 10 MB `api_call` answer could not be read in the cloud. Such an answer is kept in the
 * data bucket for a day and the API answers `303 See Other` to a presigned URL of it, which every
 * HTTP client follows (`curl -L`): the same bytes, with the same content type.
 */

import type { APIGatewayProxyStructuredResultV2 as LambdaAnswer } from 'aws-lambda';
import type { AnswerCopies } from '../../shared/ports/index.js';

/** Lambda's limit on a synchronous invocation's answer. */
export const LAMBDA_ANSWER_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * The answer as it is, or a redirect to a copy of it when it would not fit in `limit` bytes. Only a
 * 200 is copied: the other answers (a run started, a refusal) are small by construction.
 */
export async function fitAnswer(
  result: LambdaAnswer,
  copies: AnswerCopies,
  options: { method?: string; limit?: number } = {},
): Promise<LambdaAnswer> {
  const limit = options.limit ?? LAMBDA_ANSWER_LIMIT_BYTES;
  const body = result.body ?? '';
  // A HEAD is answered as its GET without the body (which API Gateway would drop): nothing to copy,
  // whatever its size, and the length the GET would send.
  if (options.method === 'HEAD' && body !== '') {
    const length = result.isBase64Encoded ? Buffer.from(body, 'base64').length : Buffer.byteLength(body);
    const { isBase64Encoded: _, ...rest } = result;
    return { ...rest, headers: { ...result.headers, 'content-length': String(length) }, body: '' };
  }
  // A JSON escape is at most six characters and a character at most three bytes: a body below a
  // sixth of the limit fits, and is not measured (most answers).
  if ((result.statusCode ?? 200) !== 200 || body.length * 6 + 64 * 1024 < limit) return result;
  if (Buffer.byteLength(JSON.stringify(result)) <= limit) return result;
  const bytes = result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (!/^content-(type|length|encoding|disposition)$/i.test(name)) headers[name] = String(value);
  }
  const location = await copies.keep(
    bytes,
    String(result.headers?.['content-type'] ?? 'application/octet-stream'),
  );
  return {
    statusCode: 303,
    headers: { ...headers, location, 'cache-control': 'private, no-store' },
    body: '',
  };
}
