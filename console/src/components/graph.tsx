/** The workflow's graph: dagre positions, SVG drawing, each step a focusable button with its status and visits. */
import type { GraphModel } from '../lib/graph-model.js';
import { layoutOf } from '../lib/layout.js';

export function Graph({
  model,
  selected,
  onSelect,
}: {
  model: GraphModel;
  selected?: string | undefined;
  onSelect?: (id: string) => void;
}) {
  const placed = layoutOf(model);
  return (
    <div
      class="graph"
      style={{ aspectRatio: `${Math.max(placed.width, 1)} / ${Math.max(placed.height, 1)}` }}
    >
      <svg viewBox={`0 0 ${placed.width} ${placed.height}`} aria-label="Workflow graph">
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="9"
            markerHeight="9"
            markerUnits="userSpaceOnUse"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow" />
          </marker>
        </defs>
        {model.edges.map((edge, i) => {
          const points = placed.edges[i]?.points ?? [];
          if (points.length < 2) return null;
          const d = points.map((p, j) => `${j === 0 ? 'M' : 'L'} ${p.x} ${p.y}`).join(' ');
          const mid = points[Math.floor(points.length / 2)]!;
          return (
            <g
              key={`${edge.from}-${edge.to}-${edge.label ?? ''}`}
              class={`edge ${edge.taken ? 'taken' : 'not-taken'} ${edge.kind} ${edge.back ? 'back' : ''}`}
            >
              <path d={d} marker-end="url(#arrow)" />
              {edge.label ? (
                <text x={mid.x + 4} y={mid.y - 3}>
                  {edge.label}
                </text>
              ) : null}
            </g>
          );
        })}
        {model.nodes.map((node) => {
          const at = placed.nodes.get(node.id)!;
          const x = at.x - at.width / 2;
          const y = at.y - at.height / 2;
          const choose = () => onSelect?.(node.id);
          return (
            // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>; it takes the role and the keys
            <g
              key={node.id}
              class={`node status-${node.status} ${selected === node.id ? 'selected' : ''}`}
              transform={`translate(${x} ${y})`}
              role="button"
              tabIndex={0}
              aria-label={`${node.label}: ${node.status}${node.visits > 1 ? `, ${node.visits} visits` : ''}`}
              data-step={node.id}
              data-status={node.status}
              onClick={choose}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  choose();
                }
              }}
            >
              <rect width={at.width} height={at.height} rx="6" />
              <text x="10" y="19" class="label">
                {node.label.length > 22 ? `${node.label.slice(0, 21)}…` : node.label}
              </text>
              <text x="10" y="37" class="meta">
                {node.type} · {node.status}
              </text>
              {node.visits > 1 ? (
                <text x={at.width - 8} y="19" class="visits" text-anchor="end">
                  ×{node.visits}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
