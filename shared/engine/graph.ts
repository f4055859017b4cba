/**
 * The step graph of a workflow, compiled once per workflow version: successors per outcome, the
 * forward edges that make joins, and the back edges that make loops.
 */
import type { StepDefinition, WorkflowDefinition } from '../definition/schema.js';

export interface StepGraph {
  readonly start: string;
  readonly steps: ReadonlyMap<string, StepDefinition>;
  /** Steps in the order they are written. */
  readonly order: readonly string[];
  /** The steps a completed step leads to for an outcome (`default` catches unnamed outcomes). */
  targets(stepId: string, outcome: string): readonly string[];
  /** Every step this one can lead to, through `next` (any outcome) and `on_error`. */
  successors(stepId: string): readonly string[];
  /** Sources of the forward edges into a step: a join waits for all of them to settle. */
  forwardSources(stepId: string): readonly string[];
  /** True when `from → to` closes a loop (a back edge of the depth-first walk from the start). */
  isBackEdge(from: string, to: string): boolean;
  /** The steps after a loop's entry: everything reachable from it through forward edges. */
  loopBody(entry: string): ReadonlySet<string>;
  /** Every step that can run after this one (through any edge, back edges too). */
  reachableFrom(stepId: string): ReadonlySet<string>;
}

const cache = new WeakMap<WorkflowDefinition, StepGraph>();

/** The compiled graph of a workflow definition; compiled once and cached per definition object. */
export function stepGraph(definition: WorkflowDefinition): StepGraph {
  let graph = cache.get(definition);
  if (!graph) {
    graph = compile(definition);
    cache.set(definition, graph);
  }
  return graph;
}

function nextTargets(step: StepDefinition): string[] {
  const next = step.next;
  if (next === undefined || next === null) return [];
  if (typeof next === 'string') return [next];
  if (Array.isArray(next)) return next;
  return Object.values(next).flatMap((t) => (typeof t === 'string' ? [t] : t));
}

function compile(definition: WorkflowDefinition): StepGraph {
  const steps = new Map(definition.steps.map((s) => [s.id, s]));
  const order = definition.steps.map((s) => s.id);
  const start = definition.start_step ?? order[0]!;

  const successors = new Map<string, string[]>();
  for (const step of definition.steps) {
    const out = new Set(nextTargets(step).filter((t) => steps.has(t)));
    if (step.on_error && steps.has(step.on_error)) out.add(step.on_error);
    successors.set(step.id, [...out]);
  }

  // Iterative depth-first walk from the start: an edge to a step still on the walk's stack is a back edge.
  // By source step, then target: asked once per edge on every transition, so no key string is built.
  const backEdges = new Map<string, Set<string>>();
  const isBack = (from: string, to: string) => backEdges.get(from)?.has(to) === true;
  const state = new Map<string, 'open' | 'done'>();
  const stack: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
  state.set(start, 'open');
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const out = successors.get(frame.id) ?? [];
    if (frame.next < out.length) {
      const to = out[frame.next++]!;
      const seen = state.get(to);
      if (seen === 'open') {
        let targets = backEdges.get(frame.id);
        if (targets === undefined) {
          targets = new Set();
          backEdges.set(frame.id, targets);
        }
        targets.add(to);
      } else if (seen === undefined) {
        state.set(to, 'open');
        stack.push({ id: to, next: 0 });
      }
    } else {
      state.set(frame.id, 'done');
      stack.pop();
    }
  }

  const forwardSources = new Map<string, string[]>(order.map((id) => [id, []]));
  for (const [from, out] of successors) {
    if (!state.has(from)) continue; // unreachable steps lead nowhere
    for (const to of out) {
      if (!isBack(from, to)) forwardSources.get(to)!.push(from);
    }
  }

  // `[next]` for each step, made once: asked on every completion.
  const single = new Map<string, readonly string[]>(order.map((id) => [id, [id]]));
  const bodies = new Map<string, ReadonlySet<string>>();
  const reachable = new Map<string, ReadonlySet<string>>();
  const none: readonly string[] = [];

  return {
    start,
    steps,
    order,
    targets(stepId, outcome) {
      const next = steps.get(stepId)?.next;
      if (next === undefined || next === null) return none;
      if (typeof next === 'string') return single.get(next) ?? [next];
      if (Array.isArray(next)) return next;
      const chosen = next[outcome] ?? next.default;
      if (chosen === undefined) return none;
      return typeof chosen === 'string' ? [chosen] : chosen;
    },
    successors: (stepId) => successors.get(stepId) ?? none,
    forwardSources: (stepId) => forwardSources.get(stepId) ?? none,
    isBackEdge: isBack,
    loopBody(entry) {
      let body = bodies.get(entry);
      if (!body) {
        const seen = new Set<string>([entry]);
        const frontier = [entry];
        while (frontier.length > 0) {
          const id = frontier.pop()!;
          for (const to of successors.get(id) ?? none) {
            if (!seen.has(to) && !isBack(id, to)) {
              seen.add(to);
              frontier.push(to);
            }
          }
        }
        seen.delete(entry);
        body = seen;
        bodies.set(entry, body);
      }
      return body;
    },
    reachableFrom(stepId) {
      let found = reachable.get(stepId);
      if (!found) {
        const seen = new Set<string>();
        const frontier = [stepId];
        while (frontier.length > 0) {
          for (const to of successors.get(frontier.pop()!) ?? none) {
            if (!seen.has(to)) {
              seen.add(to);
              frontier.push(to);
            }
          }
        }
        found = seen;
        reachable.set(stepId, found);
      }
      return found;
    },
  };
}
