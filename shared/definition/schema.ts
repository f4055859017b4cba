/**
 * The workflow language as one zod schema: the source of the TypeScript types, of the structural
 * validation pass and of `schema/workflow.schema.json`. Step configs come from the step registry,
 * so custom step types are part of the same schema.
 */
import { z } from 'zod';

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** The language versions this build reads: any 1.x. */
export const SUPPORTED_SCHEMA_MAJOR = 1;

export const identifier = z
  .string()
  .regex(ID_PATTERN, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$ (lower case letters, digits, _ and -)');

/** A string holding at least one `{{ }}` placeholder: accepted wherever a typed value may be templated. */
/** True for a string holding a `{{ … }}` placeholder. indexOf, not a regex: a backtracking pattern is quadratic on hostile input such as 100 KB of `{`. */
export function isPlaceholderString(s: string): boolean {
  const open = s.indexOf('{{');
  return open !== -1 && s.indexOf('}}', open + 2) !== -1;
}

export const placeholderString = z
  .string()
  .refine(isPlaceholderString, 'must be a value or a {{ }} placeholder')
  .meta({
    pattern: '\\{\\{[\\s\\S]*\\}\\}',
    description: 'A {{ expression }} placeholder that produces the value when the step runs.',
  });

/** A value of `schema`, or a placeholder that produces one when the step runs. */
export function templated<T extends z.ZodType>(schema: T) {
  return z.union([schema, placeholderString]);
}

/** A JSON Schema document (2020-12), checked in the semantic pass by compiling it. */
export const jsonSchemaDocument = z
  .record(z.string(), z.unknown())
  .meta({ description: 'A JSON Schema (2020-12) document.' });

const targets = z.union([identifier, z.array(identifier).min(1)]);

export const nextSchema = z
  .union([
    identifier.meta({ description: 'One successor.' }),
    z.array(identifier).min(1).meta({ description: 'All of these run, in parallel branches.' }),
    z
      .record(z.string(), targets)
      .meta({ description: 'Branching: outcome → step id (or list). `default` catches the rest.' }),
    z.null(),
  ])
  .meta({ description: 'Where the run goes after this step; missing or null ends the branch.' });

export const retrySchema = z
  .object({
    max_attempts: z.int().min(1).max(100).default(1),
    backoff_s: z.number().min(0).max(86_400).default(1),
    backoff_rate: z.number().min(1).max(10).default(2),
    max_backoff_s: z.number().min(0).max(86_400).default(300),
  })
  .strict()
  .meta({ description: 'Retries for errors that can be retried, with exponential backoff.' });

export const DEFAULT_MAX_VISITS = 10;

/** The fields every step has, whatever its type. */
export const stepCommonShape = {
  id: identifier,
  name: z.string().max(200).optional(),
  service: identifier
    .optional()
    .meta({ description: 'A name from `services:`; its settings are defaults under config.' }),
  next: nextSchema.optional(),
  retry: retrySchema.optional(),
  timeout_s: z
    .number()
    .positive()
    .max(31_536_000)
    .optional()
    .meta({ description: 'The longest one attempt may take.' }),
  on_error: identifier.optional().meta({ description: "A step that handles this step's failure." }),
  max_visits: z
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .meta({ description: 'How often the step may be entered in one run (default 10).' }),
};

/** What the schema needs to know of a step type: its name, its config schema, and whether it can undo things. */
export interface StepTypeSchemaInfo {
  type: string;
  config: z.ZodType;
  /** Action types may be used as `compensate` actions. */
  action: boolean;
  description?: string;
}

export function buildStepSchema(types: readonly StepTypeSchemaInfo[]) {
  const actions = types.filter((t) => t.action);
  const compensate = z.discriminatedUnion(
    'type',
    actions.map((t) =>
      z
        .object({ type: z.literal(t.type), service: identifier.optional(), config: t.config.prefault({}) })
        .strict()
        .meta({ description: `Undo with a ${t.type} action.` }),
    ) as never,
  );
  const variants = types.map((t) =>
    z
      .object({
        ...stepCommonShape,
        type: z.literal(t.type),
        // Optional for types whose config has no required field; a missing one is checked as `{}`.
        config: t.config.prefault({}),
        compensate: compensate.optional(),
      })
      .strict()
      .meta({ title: t.type, ...(t.description ? { description: t.description } : {}) }),
  );
  return z.discriminatedUnion('type', variants as never);
}

export function buildWorkflowSchema(types: readonly StepTypeSchemaInfo[]) {
  return z
    .object({
      $schema: z.string().optional().meta({ description: 'The JSON Schema that editors use for this file.' }),
      schema_version: z
        .string()
        .regex(/^\d+\.\d+(\.\d+)?$/, 'must be a version such as "1.0"')
        .meta({ description: 'The language version (semver); this build reads 1.x.' }),
      id: identifier,
      name: z.string().max(200).optional(),
      description: z.string().max(4000).optional(),
      inputs: jsonSchemaDocument
        .optional()
        .meta({ description: "JSON Schema of the run's inputs, checked at start." }),
      static: z
        .record(z.string(), z.unknown())
        .optional()
        .meta({ description: 'Constants, visible as `static`.' }),
      services: z
        .record(identifier, z.record(z.string(), z.unknown()))
        .optional()
        .meta({ description: 'Named shared settings that steps use with `service:`.' }),
      start_step: identifier.optional(),
      output: z.unknown().optional().meta({ description: "The run's output template." }),
      steps: z.array(buildStepSchema(types)).min(1),
    })
    .strict()
    .meta({ title: 'Flowrunner workflow', description: 'A Flowrunner workflow definition (YAML or JSON).' });
}

/** A step as the engine sees it. Its config was checked against its type's schema by the validator. */
export interface StepDefinition {
  id: string;
  type: string;
  name?: string;
  config: Record<string, unknown>;
  service?: string;
  next?: NextSpec;
  retry?: RetryPolicy;
  timeout_s?: number;
  on_error?: string;
  compensate?: CompensateAction;
  max_visits?: number;
}

export type NextSpec = z.infer<typeof nextSchema>;
export type RetryPolicy = z.infer<typeof retrySchema>;

export interface CompensateAction {
  type: string;
  service?: string;
  config: Record<string, unknown>;
}

export interface WorkflowDefinition {
  $schema?: string;
  schema_version: string;
  id: string;
  name?: string;
  description?: string;
  inputs?: Record<string, unknown>;
  static?: Record<string, unknown>;
  services?: Record<string, Record<string, unknown>>;
  start_step?: string;
  output?: unknown;
  steps: StepDefinition[];
}

/** A stored workflow version: what a run is pinned to. */
export interface WorkflowVersion {
  id: string;
  version: number;
  definition: WorkflowDefinition;
  created_at: string;
}
