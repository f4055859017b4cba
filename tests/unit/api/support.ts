/** A test bed for the API: memory stores, a manual clock, recorded execution starts, and an event factory. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type ApiDeps, createApi } from '../../../functions/api/app.js';
import { ManualClock } from '../../../shared/adapters/clock.js';
import { sequentialIds } from '../../../shared/adapters/ids.js';
import { createMemorySecrets } from '../../../shared/adapters/memory-secrets.js';
import { createMockAiProvider } from '../../../shared/ai/mock-provider.js';
import { createMemoryPromptTemplates } from '../../../shared/ai/prompt-templates.js';
import { createMemoryHttpClient } from '../../../shared/http/memory-http-client.js';
import { orchestratedChildren } from '../../../shared/orchestration/children.js';
import type { AdvanceOutput } from '../../../shared/orchestration/directive.js';
import { advance, type OrchestratorDeps } from '../../../shared/orchestration/orchestrator.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { createMemoryArtifacts } from '../../../shared/storage/memory/artifacts.js';
import { createMemoryStores } from '../../../shared/storage/memory/stores.js';
import type { Stores } from '../../../shared/storage/ports.js';

export const NOW = new Date('2026-01-01T00:00:00.000Z');

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
    isBase64Encoded: false,
  };
}

const context = { functionName: 'api', awsRequestId: 'req' } as unknown as Context;

export interface Answer {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed JSON answer, read by shape in assertions that check it
  body: any;
}

export async function setUp(options: Partial<Omit<ApiDeps, 'orchestrator'>> = {}) {
  const clock = new ManualClock(NOW);
  const stores: Stores = { ...createMemoryStores(), artifacts: createMemoryArtifacts() };
  const started: Array<{ run_id: string; name: string }> = [];
  const completed: string[] = [];
  const registry = createStepRegistry();
  const http = createMemoryHttpClient(() => ({ status: 200, headers: {}, body: '{}' }));
  const deps: OrchestratorDeps & { stores: Stores } = {
    stores,
    clock,
    ids: sequentialIds(),
    budgetMs: 60_000,
    tokens: { complete: async (token) => void completed.push(token) },
    executions: { start: async (input, name) => void started.push({ run_id: input.run_id, name }) },
    executor: {
      registry,
      secrets: createMemorySecrets({}),
      steps: {
        http,
        ai: createMockAiProvider(),
        children: orchestratedChildren(() => deps),
        templates: createMemoryPromptTemplates([]),
        clock,
        ids: sequentialIds(),
        allowPrivateNetwork: true,
      },
    },
  };
  const errors: string[] = [];
  const api = createApi({ orchestrator: deps, logger: (m) => void errors.push(m), ...options });

  const call = async (method: string, path: string, eventOptions: EventOptions = {}): Promise<Answer> => {
    const result = (await api(
      httpEvent(method, path, eventOptions),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    const text = typeof result.body === 'string' ? result.body : '';
    return {
      status: result.statusCode ?? 200,
      headers: (result.headers ?? {}) as Record<string, string>,
      body:
        text === ''
          ? undefined
          : /json/.test(String(result.headers?.['content-type'] ?? ''))
            ? JSON.parse(text)
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

  return { api, call, drive, startWaiting, deps, stores, clock, started, completed, errors };
}
