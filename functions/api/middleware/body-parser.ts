/**
 * Reads the request body once: enforces the size limit (413), parses JSON (400 when malformed,
 * never middy's 415) and keeps YAML as text, so the validator can report lines and columns.
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { badRequest, HttpError } from '../http-error.js';
import { type ApiEvent, lowerHeaders, type ParsedBody } from '../request.js';

export interface BodyParserOptions {
  /** The largest body accepted, in bytes. */
  maxBodyBytes?: number;
}

const defaults: Required<BodyParserOptions> = { maxBodyBytes: 1_048_576 };

const YAML_TYPES = new Set(['text/yaml', 'application/yaml', 'application/x-yaml', 'text/x-yaml']);

export function bodyParser(
  options: BodyParserOptions = {},
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { maxBodyBytes } = { ...defaults, ...options };

  const bodyParserBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    request.event.parsedBody = parseBody(request.event, maxBodyBytes);
  };

  return { before: bodyParserBefore };
}

function parseBody(event: ApiEvent, maxBodyBytes: number): ParsedBody {
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return { kind: 'none' };
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBodyBytes) {
    throw new HttpError(
      413,
      'Content Too Large',
      `The body is ${bytes.length} bytes; the limit is ${maxBodyBytes} bytes`,
    );
  }
  const text = bytes.toString('utf8');
  const type = (lowerHeaders(event.headers)['content-type'] ?? 'application/json').split(';')[0]!.trim();
  if (YAML_TYPES.has(type.toLowerCase())) return { kind: 'yaml', text };
  if (text.trim() === '') return { kind: 'none' };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'not JSON';
    throw badRequest(`The body is not valid JSON: ${reason}`);
  }
}
