/**
 * A workflow's graph as the run detail draws it: one node per step with its status and visits, one
 * edge per `next` target (labelled with its outcome) and per `on_error`, each marked taken or not and
 * whether it loops back. Built from the definition and the run's history alone.
 */

export interface StepDefinition {
  id: string;
  type: string;
  name?: string;
  next?: string | string[] | Record<string, string | string[]> | null;
  on_error?: string;
}

export interface HistoryRow {
  step_id: string;
  visit: number;
  type?: string;
  status: string;
  attempt?: number;
  outcome?: string;
  started_at?: string;
  ended_at?: string;
  output?: unknown;
  error?: { code: string; message: string };
}

export interface GraphNode {
  id: string;
  label: string;
  type: string;
  /** The latest visit's status; `pending` for a step never entered. */
  status: string;
  visits: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** The outcome of a branch (`approved`, `default`), or `error` for `on_error`. */
  label?: string;
  kind: 'next' | 'error';
  taken: boolean;
  /** Goes back to an earlier step: a loop. */
  back: boolean;
}

export interface GraphModel {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export function buildGraph(steps: readonly StepDefinition[], history: readonly HistoryRow[]): GraphModel {
  const order = new Map(steps.map((step, i) => [step.id, i]));
  const rows = new Map<string, HistoryRow[]>();
  for (const row of history) rows.set(row.step_id, [...(rows.get(row.step_id) ?? []), row]);
  const latest = (id: string) => {
    const visits = rows.get(id) ?? [];
    return visits.reduce<HistoryRow | undefined>(
      (a, b) => (a === undefined || b.visit >= a.visit ? b : a),
      undefined,
    );
  };
  const nodes = steps.map(
    (step): GraphNode => ({
      id: step.id,
      label: step.name ?? step.id,
      type: step.type,
      status: latest(step.id)?.status ?? 'pending',
      visits: new Set((rows.get(step.id) ?? []).map((r) => r.visit)).size,
    }),
  );
  const entered = (id: string) => (rows.get(id) ?? []).some((r) => r.status !== 'skipped');
  const outcomes = (id: string) =>
    new Set(
      (rows.get(id) ?? [])
        .filter((r) => r.status === 'completed' || r.status === 'compensated')
        .map((r) => r.outcome ?? ''),
    );
  const edges: GraphEdge[] = [];
  const add = (
    from: string,
    to: string,
    kind: GraphEdge['kind'],
    label: string | undefined,
    taken: boolean,
  ) => {
    if (!order.has(to)) return;
    edges.push({
      from,
      to,
      kind,
      ...(label === undefined ? {} : { label }),
      taken: taken && entered(to),
      back: order.get(to)! <= order.get(from)!,
    });
  };
  for (const step of steps) {
    const next = step.next;
    const done = outcomes(step.id);
    if (typeof next === 'string') add(step.id, next, 'next', undefined, done.size > 0);
    else if (Array.isArray(next)) for (const to of next) add(step.id, to, 'next', undefined, done.size > 0);
    else if (next && typeof next === 'object') {
      const named = new Set(Object.keys(next).filter((k) => k !== 'default'));
      for (const [outcome, targets] of Object.entries(next)) {
        const taken = outcome === 'default' ? [...done].some((o) => !named.has(o)) : done.has(outcome);
        for (const to of Array.isArray(targets) ? targets : [targets])
          add(step.id, to, 'next', outcome, taken);
      }
    }
    if (step.on_error) {
      const failed = (rows.get(step.id) ?? []).some((r) => r.status === 'failed');
      add(step.id, step.on_error, 'error', 'error', failed);
    }
  }
  return { nodes, edges };
}
