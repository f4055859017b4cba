/**
 * The step types a workflow may use: the built-in ones and any custom ones registered in code.
 * The validator, the JSON Schema and the engine all read the same registry.
 */
import type { z } from 'zod';
import { buildWorkflowSchema, ID_PATTERN } from '../definition/schema.js';
import { ConfigurationError } from '../errors.js';
import { builtinStepTypes } from './builtin.js';
import type { StepType } from './types.js';

export class StepRegistry {
  readonly #types = new Map<string, StepType>();
  #schema: z.ZodType | undefined;

  constructor(types: Iterable<StepType> = builtinStepTypes) {
    for (const type of types) this.register(type);
  }

  /** Adds a custom step type. Its name follows the id pattern and must not clash with another type. */
  register<C>(type: StepType<C>): this {
    if (!ID_PATTERN.test(type.type)) {
      throw new ConfigurationError(`Step type name '${type.type}' must match ${ID_PATTERN}`);
    }
    if (this.#types.has(type.type)) {
      throw new ConfigurationError(`Step type '${type.type}' is already registered`);
    }
    this.#types.set(type.type, type as unknown as StepType);
    this.#schema = undefined;
    return this;
  }

  get(type: string): StepType | undefined {
    return this.#types.get(type);
  }

  /** The step type, or a ConfigurationError naming the known ones. */
  require(type: string): StepType {
    const found = this.#types.get(type);
    if (!found) {
      throw new ConfigurationError(`Unknown step type '${type}'; known types: ${this.names().join(', ')}`);
    }
    return found;
  }

  names(): string[] {
    return [...this.#types.keys()];
  }

  list(): StepType[] {
    return [...this.#types.values()];
  }

  /** The zod schema of a whole workflow with every registered step type. */
  workflowSchema(): z.ZodType {
    this.#schema ??= buildWorkflowSchema(
      this.list().map((t) => ({
        type: t.type,
        config: t.config,
        action: t.action,
        ...(t.description ? { description: t.description } : {}),
      })),
    );
    return this.#schema;
  }
}

/** The registry of the built-in step types plus the given custom ones. */
export function createStepRegistry(custom: Iterable<StepType> = []): StepRegistry {
  const registry = new StepRegistry();
  for (const type of custom) registry.register(type);
  return registry;
}
