/** Positions for the graph (dagre, top to bottom); loops are laid out as forward edges reversed. */
import dagre from '@dagrejs/dagre';
import type { GraphModel } from './graph-model.js';

export interface Placed {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number; width: number; height: number }>;
  edges: Array<{ from: string; to: string; points: Array<{ x: number; y: number }> }>;
}

export const NODE_WIDTH = 168;
export const NODE_HEIGHT = 48;

export function layout(model: GraphModel): Placed {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 44, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of model.nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  model.edges.forEach((edge, i) => {
    // A loop's edge is laid out forward, so the steps keep their order from top to bottom.
    if (edge.back) graph.setEdge(edge.to, edge.from, { width: 0, height: 0 }, `e${i}`);
    else
      graph.setEdge(edge.from, edge.to, { width: edge.label ? 60 : 0, height: edge.label ? 14 : 0 }, `e${i}`);
  });
  dagre.layout(graph);
  const nodes = new Map<string, { x: number; y: number; width: number; height: number }>();
  for (const node of model.nodes) {
    const placed = graph.node(node.id);
    nodes.set(node.id, { x: placed.x, y: placed.y, width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  const edges = model.edges.map((edge, i) => {
    const placed = edge.back
      ? graph.edge(edge.to, edge.from, `e${i}`)
      : graph.edge(edge.from, edge.to, `e${i}`);
    const points = (placed?.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y }));
    return { from: edge.from, to: edge.to, points: edge.back ? points.reverse() : points };
  });
  const size = graph.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges };
}

/** Layouts by the shape they place, newest last: a few graphs are on screen in a session. */
const placedByShape = new Map<string, Placed>();
const KEPT_LAYOUTS = 16;

/**
 * The layout of the model's shape (its steps and edges), made once: a run's page draws its graph again
 * every refresh and every click with new statuses, and laying out a 300-step graph again each time
 * kept the page busy for seconds at a time.
 */
export function layoutOf(model: GraphModel): Placed {
  const shape = JSON.stringify([
    model.nodes.map((node) => node.id),
    model.edges.map((edge) => [edge.from, edge.to, edge.back, edge.label !== undefined && edge.label !== '']),
  ]);
  let placed = placedByShape.get(shape);
  if (placed === undefined) {
    placed = layout(model);
    if (placedByShape.size >= KEPT_LAYOUTS) placedByShape.delete(placedByShape.keys().next().value!);
  } else {
    placedByShape.delete(shape);
  }
  placedByShape.set(shape, placed);
  return placed;
}
