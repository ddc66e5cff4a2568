import type { Task } from "../../../gen/cronmesh/v1/job_pb.js";
import type { RunStatus } from "../../../gen/cronmesh/v1/run_pb.js";
import { DAG_BOX, layoutDag } from "../lib/dag-layout.js";
import { runStatusLabel } from "../lib/format.js";
import { runTone } from "./badges.js";

/** A job's DAG as an SVG graph, left to right; boxes take the colour of the task's last outcome when given. */
export function DagGraph({ tasks, outcomes }: { tasks: Task[]; outcomes?: Map<string, RunStatus> }) {
  const layout = layoutDag(tasks);
  return (
    <svg class="dag" width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label="task graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" class="dag-arrow" />
        </marker>
      </defs>
      {layout.edges.map((e) => (
        <path key={`${e.from}->${e.to}`} d={e.path} class="dag-edge" marker-end="url(#arrow)" data-edge={`${e.from}->${e.to}`} />
      ))}
      {layout.nodes.map((n) => {
        const status = outcomes?.get(n.id);
        return (
          <g key={n.id} class={`dag-node ${status === undefined ? "" : runTone(status)}`} data-task={n.id} transform={`translate(${n.x},${n.y})`}>
            <title>{`${n.id}${status === undefined ? "" : ` · last run: ${runStatusLabel(status)}`}`}</title>
            <rect width={DAG_BOX.width} height={DAG_BOX.height} rx="5" />
            <text x="10" y={DAG_BOX.height / 2 + 4}>
              {clip(n.label, 20)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
