/**
 * Validates a workflow in two passes, structure (the registry's zod schema) then meaning
 * (references, outcomes, reachability, loops, expressions, JSON Schemas), and reports every
 * problem with its path and, for text, its line and column. It never throws.
 */
import { type ErrorIssue, ValidationError } from '../errors.js';
import { checkExpression, referencesSecrets, stepsRead, templateExpressions } from '../expressions/index.js';
import { createStepRegistry, type StepRegistry } from '../steps/registry.js';
import type { StepType } from '../steps/types.js';
import { type GraphStep, graphProblems } from './graph-checks.js';
import { jsonSchemaFields, jsonSchemaProblems } from './json-schema-checks.js';
import { type DocumentFormat, parseDocument, type SourcePosition } from './parse.js';
import {
  type DocumentPath,
  formatPath,
  type PathSegment,
  type Problem,
  parsePath,
  ROOT_PATH,
} from './paths.js';
import { toPlainData } from './sanitize.js';
import { type StepDefinition, SUPPORTED_SCHEMA_MAJOR, type WorkflowDefinition } from './schema.js';
import { deepMerge } from './services.js';
import { structureProblems } from './structure.js';
import { suggest } from './suggest.js';

export interface ValidateOptions {
  /** The step types the workflow may use; default: the built-in ones. */
  registry?: StepRegistry;
  /** How to read text input; default: JSON when it starts with `{` or `[`, else YAML. */
  format?: DocumentFormat;
}

export interface ValidationResult {
  valid: boolean;
  /**
   * The workflow, when valid: defaults filled in, and each step's `config` (and `compensate.config`)
   * the effective one, its service's settings merged under it.
   */
  workflow?: WorkflowDefinition;
  /** Every problem found; the document itself is `(root)`, anything else has the path of its field. */
  errors: ErrorIssue[];
}

/** Enough to fix a document; more only slows the answer down. */
export const MAX_REPORTED_ERRORS = 1000;

let builtinRegistry: StepRegistry | undefined;

/** Validates a workflow given as YAML or JSON text, or as already-parsed data. */
export function validateWorkflow(input: unknown, options: ValidateOptions = {}): ValidationResult {
  try {
    return validate(input, options);
  } catch (error) {
    // The last line of defence for a validator that must answer whatever it is given.
    const reason = messageOf(error);
    return {
      valid: false,
      errors: [{ path: ROOT_PATH, message: `the workflow could not be validated: ${reason}` }],
    };
  }
}

/** The valid workflow, or a ValidationError that carries every problem. */
export function assertValidWorkflow(input: unknown, options: ValidateOptions = {}): WorkflowDefinition {
  const result = validateWorkflow(input, options);
  if (result.valid && result.workflow) return result.workflow;
  const count = result.errors.length;
  const first = result.errors[0];
  const summary = first ? ` (first: ${first.path}: ${first.message})` : '';
  throw new ValidationError(
    `The workflow is not valid: ${count} problem${count === 1 ? '' : 's'}${summary}`,
    result.errors,
  );
}

/**
 * The outcomes a step can produce for its config: the keys its `next` map may use, besides
 * `default`. Throws a ConfigurationError for a type the registry does not know.
 */
export function stepOutcomes(
  step: Pick<StepDefinition, 'type' | 'config'>,
  registry?: StepRegistry,
): readonly string[] {
  const type = (registry ?? defaultRegistry()).require(step.type);
  return type.outcomes(step.config);
}

function defaultRegistry(): StepRegistry {
  builtinRegistry ??= createStepRegistry();
  return builtinRegistry;
}

/** Collects problems, each once, with its line and column when the input was text. */
class Report {
  readonly errors: ErrorIssue[] = [];
  readonly #seen = new Set<string>();
  #dropped = 0;
  locate: (path: DocumentPath) => SourcePosition | undefined = () => undefined;

  add(problem: Problem): void {
    const path = formatPath(problem.path);
    const position = this.locate(problem.path);
    this.issue(
      position ? { path, message: problem.message, ...position } : { path, message: problem.message },
    );
  }

  issue(issue: ErrorIssue): void {
    const key = `${issue.path}\n${issue.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    if (this.errors.length >= MAX_REPORTED_ERRORS) this.#dropped++;
    else this.errors.push(issue);
  }

  result(workflow?: WorkflowDefinition): ValidationResult {
    const errors = [...this.errors];
    if (this.#dropped > 0) {
      errors.push({ path: ROOT_PATH, message: `${this.#dropped} more problems are not listed` });
    }
    return errors.length === 0 && workflow ? { valid: true, workflow, errors } : { valid: false, errors };
  }
}

function validate(input: unknown, options: ValidateOptions): ValidationResult {
  const registry = options.registry ?? defaultRegistry();
  const report = new Report();
  let value = input;
  if (typeof input === 'string') {
    const parsed = parseDocument(input, options.format);
    report.locate = parsed.locate;
    for (const issue of parsed.issues) report.issue(issue);
    if (parsed.value === undefined) return report.result();
    value = parsed.value;
  }

  const plain = toPlainData(value);
  for (const problem of plain.problems) report.add(problem);
  if (!plain.usable) return report.result();
  const data = plain.value;

  // A document of a future language version is judged by that version alone: say so, and nothing else.
  const version = versionProblem(data);
  if (version) {
    const prominent = new Report();
    prominent.locate = report.locate;
    prominent.add(version);
    for (const issue of report.errors) prominent.issue(issue);
    return prominent.result();
  }

  const parsed = registry.workflowSchema().safeParse(data);
  const structural = parsed.success ? [] : structureProblems(parsed.error.issues, data, registry);
  for (const problem of structural) report.add(problem);
  if (!isObject(data)) return report.result();

  const meaning = new MeaningPass(data, structural, registry);
  for (const problem of meaning.run()) report.add(problem);
  return report.result(parsed.success ? meaning.effective(parsed.data as WorkflowDefinition) : undefined);
}

function versionProblem(data: unknown): Problem | undefined {
  if (!isObject(data)) return undefined;
  const version = data.schema_version;
  let shown: string;
  let major: number;
  if (typeof version === 'string') {
    const match = /^\s*(\d+)(?:\.|\s*$)/.exec(version);
    if (!match) return undefined;
    shown = version.trim();
    major = Number(match[1]);
  } else if (typeof version === 'number' && Number.isFinite(version)) {
    shown = Number.isInteger(version) ? version.toFixed(1) : String(version);
    major = Math.trunc(version);
  } else {
    return undefined;
  }
  if (major === SUPPORTED_SCHEMA_MAJOR) return undefined;
  return {
    path: ['schema_version'],
    message: `schema_version ${shown} is not supported: this Flowrunner reads schema_version ${SUPPORTED_SCHEMA_MAJOR}.x`,
  };
}

/** A step that passed the structural pass, with its config as its type parsed it. */
interface CheckedStep {
  index: number;
  step: StepDefinition;
  /** The config the step will run with: its service's settings merged under it, defaults filled in. */
  config: unknown;
  /** Undefined when they could not be worked out (a custom type whose `outcomes` threw). */
  outcomes: readonly string[] | undefined;
  compensateConfig?: unknown;
}

/** The second pass: what the document means, checked on every part that passed the first pass. */
class MeaningPass {
  readonly #problems: Problem[] = [];
  readonly #checked = new Map<number, CheckedStep>();
  /** Top-level fields with structural problems, and the indices of steps with structural problems. */
  readonly #badFields = new Set<PathSegment>();
  readonly #badSteps = new Set<number>();
  readonly #badServices = new Set<string>();
  readonly #rawSteps: unknown[];
  readonly #ids: Array<string | undefined>;
  readonly #idSet: ReadonlySet<string>;
  readonly #idList: readonly string[];

  constructor(
    private readonly doc: Record<string, unknown>,
    structural: readonly Problem[],
    private readonly registry: StepRegistry,
  ) {
    for (const { path } of structural) {
      const [field, second] = path;
      if (field !== undefined) this.#badFields.add(field);
      if (field === 'steps' && typeof second === 'number') this.#badSteps.add(second);
      if (field === 'services' && typeof second === 'string') this.#badServices.add(second);
    }
    this.#rawSteps = Array.isArray(doc.steps) ? doc.steps : [];
    this.#ids = this.#rawSteps.map((step) =>
      isObject(step) && typeof step.id === 'string' ? step.id : undefined,
    );
    this.#idSet = new Set(this.#ids.filter((id): id is string => id !== undefined));
    this.#idList = [...this.#idSet];
  }

  run(): Problem[] {
    this.#checkIds();
    this.#checkStartStep();
    this.#rawSteps.forEach((raw, index) => {
      if (!this.#badSteps.has(index) && isObject(raw)) {
        this.#checkStep(index, raw as unknown as StepDefinition);
      }
    });
    this.#checkServices();
    this.#checkOutput();
    this.#checkInputs();
    this.#checkGraph();
    // Document order, near enough: workflow-level problems first, then step by step (the sort is stable).
    const stepIndex = ({ path }: Problem) =>
      path[0] === 'steps' && typeof path[1] === 'number' ? path[1] : -1;
    return this.#problems.sort((a, b) => stepIndex(a) - stepIndex(b));
  }

  /** The parsed workflow with each step's effective config in place of the one written. */
  effective(workflow: WorkflowDefinition): WorkflowDefinition {
    const steps = workflow.steps.map((step, index) => {
      const checked = this.#checked.get(index);
      if (!checked) return step;
      const config = checked.config as Record<string, unknown>;
      const compensate =
        step.compensate && checked.compensateConfig !== undefined
          ? { ...step.compensate, config: checked.compensateConfig as Record<string, unknown> }
          : step.compensate;
      return compensate ? { ...step, config, compensate } : { ...step, config };
    });
    return { ...workflow, steps };
  }

  #add(path: DocumentPath, message: string): void {
    this.#problems.push({ path, message });
  }

  #known(id: string): boolean {
    return this.#idSet.has(id);
  }

  #unknownStep(path: DocumentPath, id: string): void {
    this.#add(path, `unknown step '${id}'; ${suggest(id, this.#idList, 'the steps are')}`);
  }

  /** Each `steps.<id>` an expression reads names a step (a typo would read nothing, quietly). */
  #checkStepsRead(path: DocumentPath, expression: string, shown: string): void {
    for (const id of stepsRead(expression)) {
      if (!this.#known(id)) {
        this.#add(path, `${shown} reads unknown step '${id}'; ${suggest(id, this.#idList, 'the steps are')}`);
      }
    }
  }

  #checkIds(): void {
    const first = new Map<string, number>();
    this.#ids.forEach((id, index) => {
      if (id === undefined) return;
      const earlier = first.get(id);
      if (earlier === undefined) first.set(id, index);
      else this.#add(['steps', index, 'id'], `duplicate step id '${id}': steps[${earlier}] has it already`);
    });
  }

  #checkStartStep(): void {
    const start = this.doc.start_step;
    if (typeof start === 'string' && !this.#badFields.has('start_step') && !this.#known(start)) {
      this.#unknownStep(['start_step'], start);
    }
  }

  #checkStep(index: number, step: StepDefinition): void {
    const type = this.registry.get(step.type);
    if (!type) return;
    const base: PathSegment[] = ['steps', index];
    for (const [path, target] of nextTargets(step.next, [...base, 'next'])) {
      if (!this.#known(target)) this.#unknownStep(path, target);
    }
    if (step.on_error !== undefined && !this.#known(step.on_error)) {
      this.#unknownStep([...base, 'on_error'], step.on_error);
    }

    const config = this.#checkAction(type, step, base);
    const outcomes = config === undefined ? undefined : outcomesOf(type, config);
    if (outcomes) this.#checkOutcomes(type, step, outcomes, base);
    const checked: CheckedStep = { index, step, config, outcomes };
    if (step.compensate) {
      const compensateType = this.registry.get(step.compensate.type);
      if (compensateType) {
        checked.compensateConfig = this.#checkAction(compensateType, step.compensate, [
          ...base,
          'compensate',
        ]);
      }
    }
    this.#checked.set(index, checked);
  }

  /**
   * The checks shared by a step and its compensate action: the service, the effective config,
   * expressions, JSON Schemas and the type's own checks. Returns the effective config.
   */
  #checkAction(
    type: StepType,
    written: { service?: string; config?: Record<string, unknown> },
    base: PathSegment[],
  ): unknown {
    // `config` may be left out (the schema reads it as `{}`).
    const action = { ...written, config: written.config ?? {} };
    const configPath = [...base, 'config'];
    let config: unknown = type.config.safeParse(action.config).data;
    if (action.service !== undefined) config = this.#withService(type, action, base) ?? config;

    const schemaFields = new Set<string>();
    for (const field of jsonSchemaFields(type)) {
      const schema = action.config[field];
      if (!isObject(schema)) continue;
      const problems = jsonSchemaProblems(schema, [...configPath, field]);
      if (problems.length > 0) schemaFields.add(field);
      this.#problems.push(...problems);
    }
    this.#checkExpressions(type, action.config, configPath);
    if (config !== undefined) {
      for (const issue of ownChecks(type, config)) {
        const path = parsePath(issue.path);
        // The JSON Schema check above already said, more precisely, what a type's check would repeat.
        if (typeof path[0] === 'string' && schemaFields.has(path[0])) continue;
        this.#add([...configPath, ...path], issue.message);
      }
    }
    return config;
  }

  /** The config with the service's settings merged under it, when the service exists and the result fits the type. */
  #withService(
    type: StepType,
    action: { service?: string; config: Record<string, unknown> },
    base: PathSegment[],
  ): unknown {
    const name = action.service!;
    const services = this.doc.services;
    if (this.#badFields.has('services') && !isObject(services)) return undefined;
    if (!isObject(services) || !Object.hasOwn(services, name)) {
      const names = isObject(services) ? Object.keys(services) : [];
      const known =
        names.length > 0 ? suggest(name, names, 'the services are') : 'the workflow defines no services';
      this.#add([...base, 'service'], `unknown service '${name}'; ${known}`);
      return undefined;
    }
    const settings = services[name];
    if (this.#badServices.has(name) || !isObject(settings)) return undefined;
    const merged = deepMerge(settings, action.config);
    const result = type.config.safeParse(merged);
    if (result.success) return result.data;
    for (const problem of structureProblems(result.error.issues, merged, this.registry)) {
      this.#add(
        [...base, 'config', ...problem.path],
        `with the settings of service '${name}' merged in: ${problem.message}`,
      );
    }
    return undefined;
  }

  #checkOutcomes(
    type: StepType,
    step: StepDefinition,
    outcomes: readonly string[],
    base: PathSegment[],
  ): void {
    if (outcomes.length === 0 && step.on_error !== undefined) {
      // CONTRACT §1: a step without outcomes (fail) ends the run; a handler would make it a branch.
      this.#add([...base, 'on_error'], `a ${type.type} step ends the run, so it cannot have an on_error`);
    }
    const next = step.next;
    if (next === undefined || next === null) return;
    if (outcomes.length === 0) {
      this.#add([...base, 'next'], `a ${type.type} step ends the run, so it cannot have a next`);
      return;
    }
    if (typeof next !== 'object' || Array.isArray(next)) return;
    const allowed = [...outcomes.filter((o) => o !== 'default'), 'default'];
    for (const key of Object.keys(next)) {
      if (!allowed.includes(key)) {
        this.#add(
          [...base, 'next', key],
          `'${key}' is not an outcome of this ${type.type} step; its outcomes are ${allowed.join(', ')}`,
        );
      }
    }
  }

  /** Placeholders in every string of the config, and the type's expression fields as expressions. */
  #checkExpressions(type: StepType, config: Record<string, unknown>, configPath: PathSegment[]): void {
    const expressionFields = new Set(type.expressionFields ?? []);
    for (const [key, value] of Object.entries(config)) {
      const path = [...configPath, key];
      if (expressionFields.has(key)) {
        for (const [stringPath, expression] of stringsIn(value, path)) {
          const braced = BRACED_EXPRESSION.exec(expression);
          if (braced) {
            const inner = braced[1]!.trim();
            this.#add(
              stringPath,
              `${key} is a JSONata expression already, not a {{ }} template: remove the braces (${key === 'when' ? 'when: ' : ''}${JSON.stringify(inner)})`,
            );
            continue;
          }
          const error = checkExpression(expression);
          if (error !== undefined) this.#add(stringPath, `the expression does not parse: ${error}`);
          // Secrets are resolved for {{ }} placeholders only: here `secrets` would quietly be missing.
          else if (referencesSecrets(expression)) {
            this.#add(
              stringPath,
              `secrets cannot be read in ${key}; compare them in a {{ }} placeholder of an earlier step`,
            );
          } else this.#checkStepsRead(stringPath, expression, expression);
        }
      } else {
        this.#checkTemplates(value, path);
      }
    }
  }

  /** Every `{{ }}` placeholder in every string of the value must hold an expression that parses. */
  #checkTemplates(value: unknown, path: DocumentPath): void {
    for (const [stringPath, text] of stringsIn(value, path)) {
      for (const placeholder of templateExpressions(text, '')) {
        const error = placeholder.error ?? checkExpression(placeholder.expression);
        if (error === undefined) {
          this.#checkStepsRead(stringPath, placeholder.expression, `{{ ${placeholder.expression} }}`);
          continue;
        }
        const message =
          placeholder.error === undefined
            ? `the placeholder {{ ${placeholder.expression} }} does not parse: ${error}`
            : error;
        this.#add(stringPath, message);
      }
    }
  }

  #checkServices(): void {
    const services = this.doc.services;
    if (!isObject(services)) return;
    for (const [name, settings] of Object.entries(services)) {
      this.#checkTemplates(settings, ['services', name]);
    }
  }

  #checkOutput(): void {
    if (this.doc.output !== undefined) this.#checkTemplates(this.doc.output, ['output']);
  }

  #checkInputs(): void {
    if (isObject(this.doc.inputs) && !this.#badFields.has('inputs')) {
      this.#problems.push(...jsonSchemaProblems(this.doc.inputs, ['inputs']));
    }
  }

  /** Reachability and closed loops need the whole graph: only when every step passed the structural pass. */
  #checkGraph(): void {
    if (this.#rawSteps.length === 0 || this.#badSteps.size > 0 || this.#badFields.has('steps')) return;
    const start = this.doc.start_step;
    const startIndex = typeof start === 'string' ? this.#ids.indexOf(start) : 0;
    if (startIndex < 0) return;
    const graph: GraphStep[] = [];
    for (const checked of [...this.#checked.values()].sort((a, b) => a.index - b.index)) {
      const { step, outcomes } = checked;
      const targets = nextTargets(step.next, []).map(([, target]) => target);
      if (step.on_error !== undefined) targets.push(step.on_error);
      graph.push({ id: step.id, targets, endsBranch: endsBranch(step, outcomes) });
    }
    if (graph.length !== this.#rawSteps.length) return;
    this.#problems.push(...graphProblems(graph, startIndex));
  }
}

/** A whole expression wrapped in `{{ }}`, as if it were a template: `when: "{{ inputs.n > 1 }}"`. */
const BRACED_EXPRESSION = /^\s*\{\{([\s\S]*)\}\}\s*$/;

/** Every step id a `next` names, with the path where it is written. */
function nextTargets(next: unknown, path: DocumentPath): Array<[DocumentPath, string]> {
  if (typeof next === 'string') return [[path, next]];
  if (Array.isArray(next)) {
    return next.flatMap((id, i) => (typeof id === 'string' ? [[[...path, i], id]] : []));
  }
  if (!isObject(next)) return [];
  return Object.entries(next).flatMap(([outcome, target]) => nextTargets(target, [...path, outcome]));
}

/** True when a branch can end at the step: it has no next, no outcomes, or an outcome its next map leaves out. */
function endsBranch(step: StepDefinition, outcomes: readonly string[] | undefined): boolean {
  const next = step.next;
  if (next === undefined || next === null || outcomes === undefined || outcomes.length === 0) return true;
  if (typeof next !== 'object' || Array.isArray(next)) return false;
  if (Object.hasOwn(next, 'default')) return false;
  return outcomes.some((outcome) => !Object.hasOwn(next, outcome));
}

/** The type's own `check`, with paths relative to the config; a check that throws is reported, not thrown. */
function ownChecks(type: StepType, config: unknown): ErrorIssue[] {
  try {
    return type.check?.(config as Record<string, unknown>) ?? [];
  } catch (error) {
    return [{ path: '', message: `the ${type.type} type's own check failed: ${messageOf(error)}` }];
  }
}

function outcomesOf(type: StepType, config: unknown): readonly string[] | undefined {
  try {
    return type.outcomes(config as Record<string, unknown>);
  } catch {
    // A custom type's outcomes() that fails on a valid config: the outcome checks are skipped for it.
    return undefined;
  }
}

/** Every string inside a value, with its path. */
function stringsIn(value: unknown, path: DocumentPath): Array<[DocumentPath, string]> {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringsIn(item, [...path, i]));
  if (isObject(value)) return Object.entries(value).flatMap(([key, item]) => stringsIn(item, [...path, key]));
  return [];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
