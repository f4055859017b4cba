/**
 * The workflow language as a JSON Schema (2020-12) for editors and other tools, generated from the
 * same zod schema the validator uses, so the two cannot disagree.
 */
import { z } from 'zod';
import { createStepRegistry, type StepRegistry } from '../steps/registry.js';
import { SUPPORTED_SCHEMA_MAJOR } from './schema.js';

/** A name, not an address: editors are pointed at the file (see docs/editor-setup.md). */
export const WORKFLOW_SCHEMA_ID = `urn:flowrunner:schema:workflow:${SUPPORTED_SCHEMA_MAJOR}`;

export function workflowJsonSchema(registry: StepRegistry = createStepRegistry()): Record<string, unknown> {
  const generated = z.toJSONSchema(registry.workflowSchema(), {
    target: 'draft-2020-12',
    // What authors write: fields with defaults are optional.
    io: 'input',
    // A part zod cannot express (a custom type's transform, say) accepts anything rather than failing the export.
    unrepresentable: 'any',
    override: dropFailingDefault,
  }) as Record<string, unknown>;
  const { $schema, title: _title, description: _description, ...rest } = generated;
  return {
    $schema,
    $id: WORKFLOW_SCHEMA_ID,
    title: 'Flowrunner workflow',
    description: `A Flowrunner workflow definition (YAML or JSON), schema_version ${SUPPORTED_SCHEMA_MAJOR}.x. Generated from the zod schema by \`npm run schema\`; do not edit.`,
    ...rest,
  };
}

/**
 * A default the schema itself refuses is not shown. `config: {}` is how the validator checks a step
 * that has no config (so a type whose fields are all optional needs none), but for a type with a
 * required field, `{}` is not a config an editor should offer.
 */
function dropFailingDefault(context: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  if (!('default' in context.jsonSchema)) return;
  const inner = (context.zodSchema as { _zod?: { def?: { innerType?: z.ZodType } } })._zod?.def?.innerType;
  if (inner !== undefined && !inner.safeParse(context.jsonSchema.default).success) {
    delete context.jsonSchema.default;
  }
}

/** The schema as written to `schema/workflow.schema.json`: two-space indents, a newline at the end. */
export function workflowJsonSchemaText(registry?: StepRegistry): string {
  return `${JSON.stringify(workflowJsonSchema(registry), null, 2)}\n`;
}
