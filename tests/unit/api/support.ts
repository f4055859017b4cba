/** A test bed for the API: memory stores, a manual clock, recorded execution starts, and an event factory. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type ApiOptions, createApi } from '../../../functions/api/app.js';
import type { AdvanceOutput } from '../../../shared/orchestration/directive.js';
import { advance } from '../../../shared/orchestration/orchestrator.js';
import { memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';

export { NOW };

export const ONBOARDING_YAML = `schema_version: "1.0"
id: onboarding
name: Onboarding
inputs:
  type: object
  required: [customer]
  properties: { customer: { type: string } }
steps:
  - id: collect
    type: form
    config:
      fields:
        - { key: email, type: string, required: true, pattern: "^[^@\\\\s]+@[^@\\\\s]+$" }
    next: review
  - id: review
    type: approval
    config: { approvers: ["lead@example.com"] }
    next: { approved: done, rejected: done }
  - id: done
    type: transform
    config: { output: "{{ steps.collect.output.email }}" }
`;

export interface EventOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** Sent as is (no JSON encoding). */
  raw?: string;
  /** `raw` is base64, as API Gateway sends a binary body. */
  base64?: boolean;
}

/** An API Gateway v2 (HTTP API) event, as the Lambda integration delivers it. */
export function httpEvent(method: string, path: string, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = {
    ...(body !== undefined && options.raw === undefined ? { 'content-type': 'application/json' } : {}),
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString,
    headers,
    ...(options.query ? { queryStringParameters: options.query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: NOW.getTime(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: options.base64 === true,
  };
}

const context = { functionName: 'api', awsRequestId: 'req' } as unknown as Context;

export interface Answer {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed JSON answer, read by shape in assertions that check it
  body: any;
  /** The answer as the Lambda returns it to API Gateway. */
  raw: APIGatewayProxyStructuredResultV2;
}

export async function setUp(
  options: Partial<Omit<ApiOptions, 'orchestrator'>> = {},
  ...orchestrator: Parameters<typeof memoryOrchestrator>
) {
  const { deps, stores, clock, started, completed, http } = memoryOrchestrator(...orchestrator);
  const errors: string[] = [];
  const api = createApi({ orchestrator: deps, logger: (m) => void errors.push(m), ...options });

  const call = async (method: string, path: string, eventOptions: EventOptions = {}): Promise<Answer> => {
    const result = (await api(
      httpEvent(method, path, eventOptions),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    const text = typeof result.body === 'string' ? result.body : '';
    const isJson = /json/.test(String(result.headers?.['content-type'] ?? ''));
    return {
      raw: result,
      status: result.statusCode ?? 200,
      headers: (result.headers ?? {}) as Record<string, string>,
      // JSON parsed (from base64, as API Gateway decodes it, when it came so); any other body as sent.
      body:
        text === ''
          ? undefined
          : isJson
            ? JSON.parse(result.isBase64Encoded ? Buffer.from(text, 'base64').toString('utf8') : text)
            : text,
    };
  };

  /** Advances like the state machine does, until the run waits or ends. */
  const drive = async (runId: string): Promise<AdvanceOutput> => {
    let output: AdvanceOutput;
    let transitions = 0;
    do {
      output = await advance({ run_id: runId, generation: 0, transitions }, deps);
      transitions += 2;
    } while (output.directive === 'continue');
    return output;
  };

  /** Creates the onboarding workflow and starts a run waiting at its form. */
  const startWaiting = async () => {
    const created = await call('POST', '/v1/workflows', {
      raw: ONBOARDING_YAML,
      headers: { 'content-type': 'text/yaml' },
    });
    if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
    const run = await call('POST', '/v1/executions', {
      body: { workflow_id: 'onboarding', inputs: { customer: 'Ada' } },
    });
    if (run.status !== 202) throw new Error(`start failed: ${JSON.stringify(run.body)}`);
    await drive(run.body.id);
    return run.body.id as string;
  };

  return { api, call, drive, startWaiting, deps, stores, clock, started, completed, errors, http };
}
