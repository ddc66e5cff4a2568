/** One line of a diff: kept (" "), removed ("-") or added ("+"). */
export interface DiffLine {
  op: " " | "-" | "+";
  text: string;
}

/** A run of unchanged lines folded away in a {@link DiffHunkView}. */
export interface FoldedLines {
  op: "…";
  count: number;
}

/** What a diff view shows: changed lines with some context, and folds between them. */
export type DiffHunkView = (DiffLine | FoldedLines)[];

/** Above this many cells the LCS table is not built: the diff is then "all removed, all added". */
const MAX_CELLS = 4_000_000;

/**
 * The line diff of two texts by longest common subsequence: every line of `before` is kept or
 * removed, every line of `after` is kept or added, in order, with removals before additions at
 * each change. Texts too large for the table come back as one replacement.
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before === "" ? [] : before.split("\n");
  const b = after === "" ? [] : after.split("\n");
  if (a.length * b.length > MAX_CELLS) return [...a.map((text) => ({ op: "-" as const, text })), ...b.map((text) => ({ op: "+" as const, text }))];
  const lcs = lcsTable(a, b);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ op: " ", text: a[i]! });
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push({ op: "-", text: a[i++]! });
    } else {
      out.push({ op: "+", text: b[j++]! });
    }
  }
  return out;
}

/** lcs[i][j] = length of the longest common subsequence of a[i..] and b[j..]. */
function lcsTable(a: string[], b: string[]): number[][] {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
    }
  }
  return t;
}

/** Keeps `context` unchanged lines around each change and folds longer unchanged runs. */
export function foldUnchanged(lines: DiffLine[], context = 3): DiffHunkView {
  const near = lines.map(() => false);
  lines.forEach((line, i) => {
    if (line.op === " ") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) near[k] = true;
  });
  const out: DiffHunkView = [];
  let folded = 0;
  lines.forEach((line, i) => {
    if (near[i]) {
      if (folded) out.push({ op: "…", count: folded });
      folded = 0;
      out.push(line);
    } else folded++;
  });
  if (folded) out.push({ op: "…", count: folded });
  return out;
}
