import { diffLines, foldUnchanged } from "../lib/line-diff.js";

/** The line diff of two configurations, unchanged stretches folded. */
export function VersionDiff({ before, after, labels }: { before: string; after: string; labels: [string, string] }) {
  const lines = diffLines(before, after);
  const changed = lines.some((l) => l.op !== " ");
  return (
    <div class="diff">
      <div class="diff-head">
        <span class="del">− {labels[0]}</span>
        <span class="add">+ {labels[1]}</span>
      </div>
      {!changed ? <div class="diff-empty muted">No configuration change.</div> : null}
      <pre>
        {foldUnchanged(lines).map((l, i) =>
          l.op === "…" ? (
            <div key={i} class="diff-fold">
              ⋯ {l.count} unchanged line{l.count === 1 ? "" : "s"}
            </div>
          ) : (
            <div key={i} class={l.op === "+" ? "diff-add" : l.op === "-" ? "diff-del" : "diff-same"}>
              {l.op} {l.text}
            </div>
          ),
        )}
      </pre>
    </div>
  );
}
