/**
 * What the API answers, as zod schemas: the OpenAPI document's response bodies are generated from
 * them, and the conformance test (tests/e2e/openapi-conformance.test.ts) checks every answer of a
 * real server against that document. A schema with a `meta({ id })` becomes a named component.
 * Enumerations come from the engine's own `as const` objects, so a new status or event type is
 * documented the day it exists.
 */
import { z } from 'zod';
import type { WorkflowDefinition } from '../../shared/definition/schema.js';
import { EventType, RunStatus, StepStatus } from '../../shared/engine/types.js';
import { ListenerType } from '../../shared/ports/index.js';

const values = <T extends Record<string, string>>(object: T) =>
  Object.values(object) as [T[keyof T], ...T[keyof T][]];

/** Instants as the stores write them (`Date#toISOString`). */
const instant = z.string().meta({ format: 'date-time', examples: ['2026-01-05T09:30:00.000Z'] });
const count = z.number().int().min(0);

/** One problem with a part of the request or document; YAML problems also say where. */
export const issue = z
  .object({
    path: z.string().meta({ description: 'Where: `steps[2].next.approved`, `inputs.email`, `(root)`' }),
    message: z.string(),
    line: z.number().int().min(1).optional(),
    column: z.number().int().min(1).optional(),
  })
  .meta({ id: 'Issue' });

/** RFC 9457 Problem Details, the body of every error (`application/problem+json`). */
export const problem = z
  .object({
    type: z.string().meta({ description: '`about:blank`: the status and title are the whole meaning' }),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    errors: z.array(issue).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 Problem Details' });

/** API Gateway's own answer when its throttle refuses a request (the cloud only; not Problem Details). */
export const throttled = z.object({ message: z.string() }).meta({ id: 'Throttled' });

export const health = z.object({ status: z.literal('ok') });

/** A page of a list; `next_cursor` is opaque and only valid for the same query. */
export function page<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      next_cursor: z.string().nullable().meta({ description: 'Give it as `cursor` for the next page' }),
    })
    .meta({ id });
}

/**
 * A workflow definition as stored. Its schema is the workflow language's (which depends on the
 * registered step types): openapi.ts puts that schema in this component.
 */
export const workflowDefinition = z
  .custom<WorkflowDefinition>((value) => typeof value === 'object' && value !== null)
  .meta({ id: 'Workflow' });

export const workflowSummary = z
  .object({
    id: z.string(),
    latest_version: z.number().int().min(1),
    name: z.string().optional(),
    description: z.string().optional(),
    created_at: instant,
    updated_at: instant,
    retired: z.boolean().optional(),
  })
  .meta({ id: 'WorkflowSummary' });

export const workflowVersion = z
  .object({
    id: z.string(),
    version: z.number().int().min(1),
    created_at: instant,
    retired: z.boolean().meta({ description: 'Retired workflows start no new runs; a PUT revives them' }),
    definition: workflowDefinition,
  })
  .meta({ id: 'WorkflowVersion' });

export const workflowVersionInfo = z
  .object({
    version: z.number().int().min(1),
    created_at: instant,
    content_hash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .meta({ description: 'SHA-256 (hex) of the definition as canonical JSON' }),
  })
  .meta({ id: 'WorkflowVersionInfo' });

export const validation = z
  .object({ valid: z.boolean(), errors: z.array(issue) })
  .meta({ id: 'ValidationResult' });

const errorInfo = z
  .object({
    code: z.string(),
    message: z.string(),
    step_id: z.string().optional(),
    retryable: z.boolean().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'RunError' });

/** A wait a person or another system can answer; the wait's own public details (fields, approvers, …) come with it. */
const waiting = z
  .looseObject({
    step_id: z.string(),
    type: z.string(),
    visit: z.number().int().min(1),
    fields: z.unknown().optional(),
    approvers: z.unknown().optional(),
    message: z.unknown().optional(),
    expires_at: instant.optional(),
    callback_token: z
      .string()
      .optional()
      .meta({ description: 'Single-use: `POST /v1/callbacks/{token}` answers this wait' }),
  })
  .meta({ id: 'Wait' });

export const runView = z
  .object({
    id: z.string(),
    workflow_id: z.string(),
    workflow_version: z.number().int().min(1),
    status: z.enum(values(RunStatus)),
    waiting: z.array(waiting),
    output: z.unknown().optional(),
    error: errorInfo.optional(),
    compensated: z.boolean().optional(),
    rerun_of: z.string().optional().meta({ description: 'The run this one is a rerun of' }),
    redrives: count
      .optional()
      .meta({ description: 'How many times the run was redriven (absent when never)' }),
    trigger: z
      .looseObject({ listener_id: z.string(), type: z.string(), event_id: z.string() })
      .optional()
      .meta({ description: 'The listener and event that started this run' }),
    created_at: instant,
    started_at: instant.optional(),
    updated_at: instant,
    ended_at: instant.optional(),
    usage: z.object({
      tokens_prompt: count,
      tokens_output: count,
      cost_usd: z.number().min(0).nullable().meta({ description: 'null when a model has no known price' }),
      ai_calls: count,
    }),
  })
  .meta({ id: 'Run' });

export const runSummary = z
  .object({
    id: z.string(),
    workflow_id: z.string(),
    workflow_version: z.number().int().min(1),
    status: z.enum(values(RunStatus)),
    created_at: instant,
    updated_at: instant,
  })
  .meta({ id: 'RunSummary' });

export const stepExecution = z
  .object({
    step_id: z.string(),
    type: z.string(),
    visit: z.number().int().min(0),
    status: z.enum(values(StepStatus)),
    attempt: z.number().int().min(0),
    started_at: instant.optional(),
    ended_at: instant.optional(),
    outcome: z.string().optional(),
    output: z.unknown().optional(),
    error: errorInfo.optional(),
  })
  .meta({ id: 'StepExecution' });

export const runEvent = z
  .object({
    seq: z.number().int().min(1),
    type: z.enum(values(EventType)),
    at: instant,
    step_id: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event' });

export const eventsPage = z
  .object({ events: z.array(runEvent), next_cursor: z.string().nullable() })
  .meta({ id: 'EventPage' });

const stepView = z.object({
  status: z.enum(values(StepStatus)),
  visit: z.number().int().min(0),
  output: z.unknown().optional(),
  error: errorInfo.optional(),
  outcome: z.string().optional(),
});

export const runContext = z
  .object({
    inputs: z.unknown(),
    static: z.unknown(),
    profile: z.unknown(),
    steps: z.record(z.string(), stepView),
    run: z.object({
      id: z.string(),
      workflow_id: z.string(),
      workflow_version: z.number().int().min(1),
      started_at: instant,
    }),
  })
  .meta({ id: 'RunContext', description: 'What expressions see; secrets are never in it' });

export const artifactInfo = z
  .object({ name: z.string(), size: count, content_type: z.string(), updated_at: instant })
  .meta({ id: 'Artifact' });

/** An answer to a wait was accepted: the run goes on from that step's visit. */
export const answerAccepted = z
  .object({
    run_id: z.string(),
    step_id: z.string(),
    visit: z.number().int().min(1),
    accepted: z.literal(true),
  })
  .meta({ id: 'AnswerAccepted' });

export const redriveAccepted = z
  .object({
    run_id: z.string(),
    redrive: z.number().int().min(1).meta({ description: 'Which redrive of the run this is (1, 2, ...)' }),
    accepted: z.literal(true),
  })
  .meta({ id: 'RedriveAccepted' });

export const controlAccepted = z
  .object({ run_id: z.string(), accepted: z.literal(true) })
  .meta({ id: 'ControlAccepted' });

export const promptTemplate = z
  .object({
    id: z.string(),
    version: z.number().int().min(1),
    text: z.string().meta({ description: "The prompt: `{{ }}` placeholders over the step's `variables`" }),
    system: z.string().optional(),
    model: z.string().optional().meta({ description: 'The model when the step names none' }),
    description: z.string().optional(),
    created_at: instant,
  })
  .meta({ id: 'PromptTemplate' });

export const promptTemplateSummary = z
  .object({
    id: z.string(),
    latest_version: z.number().int().min(1),
    description: z.string().optional(),
    created_at: instant,
    updated_at: instant,
  })
  .meta({ id: 'PromptTemplateSummary' });

export const inferAnswer = z
  .object({
    output: z.unknown().meta({ description: 'The JSON answer, valid against `json_schema`' }),
    provider: z.string(),
    model: z.string(),
    tokens_prompt: count,
    tokens_output: count,
    latency_ms: count,
    cost_usd: z
      .number()
      .min(0)
      .nullable()
      .optional()
      .meta({ description: 'From the price table; null when the model has no known price' }),
    price_version: z.string().optional().meta({ description: 'The dated price table the cost comes from' }),
  })
  .meta({ id: 'InferAnswer' });

/** Open: listeners grow settings by type (triggers); the fields every listener has are required. */
export const listener = z
  .object({
    id: z.string(),
    type: z.enum(values(ListenerType)),
    workflow_id: z.string(),
    version: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'The pinned version; the latest when absent' }),
    match: z.record(z.string(), z.unknown()).meta({ description: 'By type: see docs/triggers.md' }),
    inputs: z
      .unknown()
      .optional()
      .meta({ description: 'A template rendered against `{event}` into the inputs' }),
    enabled: z.boolean(),
    created_at: instant,
    updated_at: instant,
    fired: count,
    skipped: count,
    failed: count,
    last_fired_at: instant.optional(),
    last_run_id: z.string().optional(),
    last_error: z.object({ code: z.string(), message: z.string(), at: instant }).optional(),
    next_fire_at: instant.optional().meta({ description: 'Schedules: when the next fire is due' }),
  })
  .meta({ id: 'Listener' });

export const eventsAccepted = z
  .object({ entries: z.array(z.object({ event_id: z.string() })) })
  .meta({ id: 'EventsAccepted' });
