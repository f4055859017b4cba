/** The meaning checks on the step graph: steps that nothing leads to, and loops that cannot be left. */
import type { Problem } from './paths.js';

export interface GraphStep {
  id: string;
  /** The ids this step can lead to: `next` (every form and outcome) and `on_error`. */
  targets: readonly string[];
  /** True when the branch can end at this step: no `next`, no outcomes, or an outcome with no target. */
  endsBranch: boolean;
}

/**
 * Problems of the graph whose start is `steps[start]`; with duplicate ids, the first step owns the
 * id. A target that names no step is reported where it is written; here it means the graph is not
 * known in full, so no step is called unreachable, and a loop that has one may be leaving through it.
 */
export function graphProblems(steps: readonly GraphStep[], start: number): Problem[] {
  const owner = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!owner.has(step.id)) owner.set(step.id, index);
  });
  const successors = steps.map((step) =>
    step.targets.flatMap((target) => {
      const index = owner.get(target);
      return index === undefined ? [] : [index];
    }),
  );
  const leadsToUnknown = steps.map((step) => step.targets.some((target) => !owner.has(target)));
  const complete = !leadsToUnknown.includes(true);
  return [
    ...(complete ? unreachable(steps, successors, owner, start) : []),
    ...closedLoops(steps, successors, leadsToUnknown),
  ];
}

function unreachable(
  steps: readonly GraphStep[],
  successors: readonly number[][],
  owner: ReadonlyMap<string, number>,
  start: number,
): Problem[] {
  const reached = new Set([start]);
  const pending = [start];
  for (let index = pending.pop(); index !== undefined; index = pending.pop()) {
    for (const next of successors[index] ?? []) {
      if (!reached.has(next)) {
        reached.add(next);
        pending.push(next);
      }
    }
  }
  const startId = steps[start]?.id ?? '';
  return steps.flatMap((step, index) =>
    reached.has(index) || owner.get(step.id) !== index
      ? []
      : [
          {
            path: ['steps', index],
            message: `step '${step.id}' is unreachable: nothing leads to it from the start step '${startId}' (through next or on_error)`,
          },
        ],
  );
}

/** Loops from which no step outside the loop and no branch end can be reached: runs would only stop at max_visits. */
function closedLoops(
  steps: readonly GraphStep[],
  successors: readonly number[][],
  leadsToUnknown: readonly boolean[],
): Problem[] {
  const problems: Problem[] = [];
  for (const component of stronglyConnected(successors)) {
    component.sort((a, b) => a - b);
    const members = new Set(component);
    const first = component[0]!;
    const isLoop = component.length > 1 || (successors[first] ?? []).includes(first);
    if (!isLoop) continue;
    const canLeave = component.some(
      (index) =>
        steps[index]!.endsBranch ||
        leadsToUnknown[index] ||
        (successors[index] ?? []).some((next) => !members.has(next)),
    );
    if (canLeave) continue;
    const names = component.map((index) => `'${steps[index]!.id}'`).join(', ');
    problems.push({
      path: ['steps', first],
      message:
        component.length === 1
          ? `step ${names} only leads back to itself: a loop with no way out (no other step and no branch end can be reached)`
          : `steps ${names} form a loop with no way out: no step outside the loop and no branch end can be reached from them`,
    });
  }
  return problems.sort((a, b) => Number(a.path[1]) - Number(b.path[1]));
}

/** Tarjan's strongly connected components, with an explicit stack so that long chains cannot overflow. */
function stronglyConnected(successors: readonly number[][]): number[][] {
  const order: number[] = successors.map(() => -1);
  const low: number[] = successors.map(() => 0);
  const onStack: boolean[] = successors.map(() => false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  const visit = (node: number) => {
    order[node] = counter;
    low[node] = counter;
    counter++;
    stack.push(node);
    onStack[node] = true;
  };
  for (let root = 0; root < successors.length; root++) {
    if (order[root] !== -1) continue;
    visit(root);
    const work = [{ node: root, edge: 0 }];
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = successors[frame.node] ?? [];
      if (frame.edge < edges.length) {
        const next = edges[frame.edge++]!;
        if (order[next] === -1) {
          visit(next);
          work.push({ node: next, edge: 0 });
        } else if (onStack[next]) {
          low[frame.node] = Math.min(low[frame.node]!, order[next]!);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent.node] = Math.min(low[parent.node]!, low[frame.node]!);
      if (low[frame.node] === order[frame.node]) {
        const component: number[] = [];
        let member: number | undefined;
        do {
          member = stack.pop()!;
          onStack[member] = false;
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}
