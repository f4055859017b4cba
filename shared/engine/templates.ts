/**
 * The templates of a workflow version, compiled once and kept as long as its definition: each
 * step's and compensate action's config (service defaults merged under it, the step type's
 * expression fields left as written) and the run's output. A step then renders without parsing.
 */
import type { CompensateAction, StepDefinition, WorkflowDefinition } from '../definition/schema.js';
import { mergeServiceDefaults } from '../definition/services.js';
import { type CompiledTemplate, compileTemplate } from '../expressions/index.js';

interface VersionTemplates {
  /** By the step or compensate action they belong to (objects of this definition). */
  readonly configs: WeakMap<StepDefinition | CompensateAction, CompiledTemplate>;
  output: CompiledTemplate | undefined;
}

const cache = new WeakMap<WorkflowDefinition, VersionTemplates>();

function templatesOf(definition: WorkflowDefinition): VersionTemplates {
  let templates = cache.get(definition);
  if (templates === undefined) {
    templates = { configs: new WeakMap(), output: undefined };
    cache.set(definition, templates);
  }
  return templates;
}

/**
 * The compiled config of a step or compensate action of `definition`. `expressionFields` are the
 * top-level keys its step type evaluates itself; they belong to the type, so they are the same on
 * every call for one action.
 */
export function configTemplate(
  definition: WorkflowDefinition,
  action: StepDefinition | CompensateAction,
  expressionFields: readonly string[] = [],
): CompiledTemplate {
  const { configs } = templatesOf(definition);
  let template = configs.get(action);
  if (template === undefined) {
    template = compileTemplate(mergeServiceDefaults(definition, action), expressionFields);
    configs.set(action, template);
  }
  return template;
}

/** The compiled `output` of the workflow (undefined renders as undefined). */
export function outputTemplate(definition: WorkflowDefinition): CompiledTemplate {
  const templates = templatesOf(definition);
  templates.output ??= compileTemplate(definition.output);
  return templates.output;
}
