/** `form`: waits for a person to submit values, checked against the declared fields. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import type { WaitSpec } from '../engine/types.js';
import { StepError } from '../errors.js';
import { checkFormAnswer, fieldIssues } from './form-fields.js';
import { notifyConfig, notifyIssues, notifyPeople } from './notify.js';
import { waitDeadline } from './rendered.js';
import { defineStepType, type ResumeRefusal } from './types.js';

export const formFieldSchema = z
  .object({
    key: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a letter or _ followed by letters, digits or _'),
    type: z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array']).default('string'),
    required: z.boolean().default(false),
    pattern: z.string().optional().meta({ description: 'A regular expression that strings must match.' }),
    enum: z.array(z.unknown()).min(1).optional(),
    min: z.number().optional().meta({ description: 'Least value (numbers) or length (strings, arrays).' }),
    max: z.number().optional().meta({ description: 'Greatest value (numbers) or length (strings, arrays).' }),
    default: z.unknown().optional(),
    label: z.string().max(200).optional(),
  })
  .strict();

export const formConfig = z
  .object({
    fields: z.array(formFieldSchema).min(1),
    title: z.string().max(200).optional(),
    message: z.string().max(4000).optional(),
    timeout_s: templated(z.number().positive()).optional(),
    notify: notifyConfig.optional(),
  })
  .strict();

export type FormConfig = z.infer<typeof formConfig>;
export type FormField = z.infer<typeof formFieldSchema>;

const formFields = z.array(formFieldSchema).min(1);

/**
 * The fields kept in the wait. The resume checks answers against these, rendered when the form
 * opened and shown to people, not against the config as written (which may hold placeholders).
 */
function readFields(value: unknown): FormField[] | undefined {
  const parsed = formFields.safeParse(value);
  return parsed.success ? parsed.data.map(publicField) : undefined;
}

/** A field as people see it in `waiting[].fields`: defaults filled in, unset keys left out. */
function publicField(field: FormField): FormField {
  return Object.fromEntries(Object.entries(field).filter(([, v]) => v !== undefined)) as FormField;
}

/** The resume payload: `{inputs: {...}}` as the API sends it (`step_id` may travel along and is ignored). */
function readInputs(payload: unknown): { inputs: Record<string, unknown> } | { refusal: ResumeRefusal } {
  const refuse = (path: string, message: string) => ({
    refusal: {
      status: 422 as const,
      message: `The answer must be {"inputs": {...}}: ${message}`,
      issues: [{ path, message }],
    },
  });
  if (!isRecord(payload)) return refuse('', 'the answer is not an object');
  const extra = Object.keys(payload).find((k) => k !== 'inputs' && k !== 'step_id');
  if (extra !== undefined) {
    return refuse(extra, `${extra} is not expected here; put the form's values under inputs`);
  }
  if (payload.inputs === undefined) return { inputs: {} };
  if (!isRecord(payload.inputs)) return refuse('inputs', 'inputs must be an object of field values');
  return { inputs: payload.inputs };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const form = defineStepType({
  type: 'form',
  description: 'Waits for a person to fill a form; outcomes `submitted` and `timeout`.',
  config: formConfig,
  action: false,
  outcomes: () => ['submitted', 'timeout'],
  execute: async (ctx) => {
    const fields = ctx.config.fields.map(publicField);
    // Defaults, options and patterns may come from placeholders: check them as rendered.
    const issues = fieldIssues(fields);
    if (issues.length > 0) {
      throw new StepError(
        'InvalidConfig',
        `The form's fields are not valid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { retryable: false, details: { issues } },
      );
    }
    const { title, message } = ctx.config;
    const until = waitDeadline(ctx.now, ctx.config.timeout_s);
    const wait: WaitSpec = {
      kind: 'form',
      ...(until ? { until } : {}),
      timeout_outcome: 'timeout',
      data: {
        fields,
        ...(title !== undefined ? { title } : {}),
        ...(message !== undefined ? { message } : {}),
      },
    };
    await notifyPeople(
      ctx,
      {
        kind: 'form',
        fields,
        ...(title !== undefined ? { title } : {}),
        ...(message !== undefined ? { message } : {}),
        ...(until ? { expires_at: until } : {}),
      },
      [],
    );
    return { status: 'waiting', wait };
  },
  resume: ({ config, wait, payload }) => {
    const read = readInputs(payload);
    if ('refusal' in read) return read.refusal;
    const fields = readFields(wait.data?.fields) ?? config.fields.map(publicField);
    const answer = checkFormAnswer(fields, read.inputs);
    if ('issues' in answer) {
      return {
        status: 422,
        message: `The answer does not fit the form: ${answer.issues.map((i) => i.message).join('; ')}`,
        issues: answer.issues,
      };
    }
    return { status: 'completed', outcome: 'submitted', output: answer.values };
  },
  check: (config) => [...fieldIssues(config.fields), ...notifyIssues(config.notify)],
});
