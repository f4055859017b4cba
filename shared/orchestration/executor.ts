/**
 * Carries out the work the engine asks for: renders a step's config (service defaults, placeholders,
 * secrets), runs one attempt within its time limit, scrubs every resolved secret from what comes
 * back, and answers with the signal that reports the result.
 */
import type { CompensateAction, StepDefinition, WorkflowVersion } from '../definition/schema.js';
import { runContext } from '../engine/context.js';
import { stepGraph } from '../engine/graph.js';
import { configTemplate, outputTemplate } from '../engine/templates.js';
import type { RunState, Signal, StepEvent, StepResult, Work } from '../engine/types.js';
import { toErrorInfo } from '../errors.js';
import { evaluate, Redactor, type RenderOptions, render } from '../expressions/index.js';
import type { SecretSource } from '../ports/index.js';
import type { StepRegistry } from '../steps/registry.js';
import type { RunContext, StepDeps, StepExecutionContext } from '../steps/types.js';
import { type ObservabilityDeps, observeAttempt } from './run-telemetry.js';

const NEVER_ABORTED = new AbortController().signal;

/**
 * What carrying out work needs: the step types, and the services steps use (StepDeps: one clock, one
 * id source, HTTP, AI, child runs, templates). The orchestrator's dependencies are a superset.
 */
export interface ExecutorDeps extends StepDeps, ObservabilityDeps {
  registry: StepRegistry;
  secrets?: SecretSource;
  /** Collects every secret value resolved in this process, so that logs can be scrubbed too. */
  redactor?: Redactor;
  /** Budget of one expression evaluation (default 1,000 ms). */
  expressionTimeoutMs?: number;
}

/** Carries out one piece of work; the signal to apply next, or nothing (cancel_child). */
export async function carryOut(
  work: Work,
  workflow: WorkflowVersion,
  state: RunState,
  deps: ExecutorDeps,
): Promise<Signal | undefined> {
  switch (work.kind) {
    case 'execute': {
      const step = findStep(workflow, work.step_id);
      const attempt = { stepId: step.id, type: step.type, visit: work.visit, attempt: work.attempt };
      const result = await observeAttempt(deps, { ...attempt, compensation: false }, (traced) =>
        runAttempt(step, step, work.visit, work.attempt, work.deadline, workflow, state, traced),
      );
      return { type: 'step_result', step_id: work.step_id, visit: work.visit, attempt: work.attempt, result };
    }
    case 'compensate': {
      const step = findStep(workflow, work.step_id);
      const action = step.compensate!;
      // The compensation sees the output of the visit it undoes, even if a later visit replaced it.
      const self = state.steps[work.step_id]!;
      const overrides = {
        [work.step_id]: {
          status: 'completed',
          visit: work.visit,
          output: work.output,
          ...(self.outcome ? { outcome: self.outcome } : {}),
        },
      };
      const attempt = { stepId: step.id, type: action.type, visit: work.visit, attempt: work.attempt };
      const result = await observeAttempt(deps, { ...attempt, compensation: true }, (traced) =>
        runAttempt(step, action, work.visit, work.attempt, undefined, workflow, state, traced, overrides),
      );
      return {
        type: 'step_result',
        step_id: work.step_id,
        visit: work.visit,
        attempt: work.attempt,
        compensation: true,
        result,
      };
    }
    case 'render_output': {
      const redactor = new Redactor();
      try {
        const output = await outputTemplate(workflow.definition).render(
          runContext(workflow, state),
          renderOptions(deps, redactor),
        );
        return { type: 'output_rendered', output: redactor.scrub(output) };
      } catch (error) {
        const info = toErrorInfo(error);
        return {
          type: 'output_rendered',
          error: redactor.scrub({ code: 'OutputError', message: `The run's output failed: ${info.message}` }),
        };
      }
    }
    case 'cancel_child':
      await deps.children.cancel(work.child_run_id);
      return undefined;
  }
}

function findStep(workflow: WorkflowVersion, id: string): StepDefinition {
  const step = stepGraph(workflow.definition).steps.get(id);
  if (!step) throw new Error(`Step '${id}' is not in ${workflow.id} v${workflow.version}`);
  return step;
}

function renderOptions(deps: ExecutorDeps, redactor: Redactor): RenderOptions {
  // Built field by field: a spread of a conditional object costs more than the whole render.
  const options: RenderOptions = { redactor, timeoutMs: deps.expressionTimeoutMs ?? 1000 };
  if (deps.secrets) options.secrets = deps.secrets;
  return options;
}

async function runAttempt(
  step: StepDefinition,
  action: StepDefinition | CompensateAction,
  visit: number,
  attempt: number,
  deadline: string | undefined,
  workflow: WorkflowVersion,
  state: RunState,
  deps: ExecutorDeps,
  overrides?: Parameters<typeof runContext>[2],
): Promise<StepResult> {
  const redactor = new Redactor();
  const events: StepEvent[] = [];
  // An attempt without a time limit is never aborted: it shares one signal instead of a controller each.
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let result: StepResult;
  try {
    const type = deps.registry.require(action.type);
    const context = runContext(workflow, state, overrides);
    const template = configTemplate(workflow.definition, action, type.expressionFields);
    const rendered = await template.render(context, renderOptions(deps, redactor));
    const config = type.config.safeParse(rendered);
    if (!config.success) {
      const issues = config.error.issues.map((i) => `${['config', ...i.path].join('.')}: ${i.message}`);
      result = {
        status: 'failed',
        error: {
          code: 'InvalidConfig',
          message: `The rendered config is not valid: ${issues.join('; ')}`,
          retryable: false,
        },
      };
    } else {
      const now = deps.clock.now();
      const timeoutMs =
        deadline === undefined ? undefined : Math.max(0, Date.parse(deadline) - now.getTime());
      if (timeoutMs !== undefined) controller = new AbortController();
      const ctx: StepExecutionContext<Record<string, unknown>> = {
        run: context.run,
        step,
        visit,
        attempt,
        idempotencyKey: `${state.id}:${step.id}:${visit}${action === step ? '' : ':compensate'}`,
        config: config.data as Record<string, unknown>,
        context,
        evaluate: (expression) =>
          evaluate(expression, context as unknown as Record<string, unknown>, {
            timeoutMs: deps.expressionTimeoutMs ?? 1000,
          }),
        // The renderer reads its context as plain data: any object serves as the names placeholders see.
        render: (value, data) => render(value, data as unknown as RunContext, renderOptions(deps, redactor)),
        deps,
        signal: controller?.signal ?? NEVER_ABORTED,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        now,
        emit: (event) => events.push(event),
      };
      const running = type.execute(ctx);
      if (timeoutMs === undefined) {
        result = await running;
      } else {
        const timedOut = new Promise<StepResult>((resolve) => {
          timer = setTimeout(() => {
            controller?.abort();
            resolve({
              status: 'failed',
              error: {
                code: 'StepTimeout',
                message: `Step '${step.id}' took longer than its timeout_s (${step.timeout_s} s)`,
                retryable: true,
              },
            });
          }, timeoutMs);
        });
        result = await Promise.race([running, timedOut]);
      }
    }
  } catch (error) {
    result = { status: 'failed', error: toErrorInfo(error) };
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (events.length > 0) result = { ...result, events: [...events, ...(result.events ?? [])] };
  if (redactor.size > 0) {
    for (const secret of redactor.values()) deps.redactor?.add(secret);
    result = redactor.scrub(result);
  }
  return result;
}
