/** Spaces between two columns. */
const GAP = "  ";

/** A cell on one line: line breaks and tabs would break the alignment of every row after it. */
function oneLine(cell: string): string {
  return cell.replace(/\s*[\r\n]+\s*/g, " ⏎ ").replace(/\t/g, " ");
}

/**
 * An aligned plain-text table: the header, then one line per row, each column padded to its
 * widest cell (the last one is not padded, and no line ends in spaces). Cells are made one-line.
 * Widths count UTF-16 units, which matches a terminal's columns for Latin text and emoji alike.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header, ...rows].map((row) => row.map(oneLine));
  const widths = header.map((_, i) => Math.max(...lines.map((row) => (row[i] ?? "").length)));
  return (
    lines
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join(GAP)
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** "Label:  value" lines with the values aligned; pairs whose value is undefined are left out. */
export function renderFields(pairs: readonly (readonly [string, string | undefined])[]): string {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width)}${GAP}${oneLine(value)}`.trimEnd()).join("\n") + "\n";
}

/** `text` cut to `max` characters, the cut marked with "…". */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
