/** Spaces between two columns. */
const GAP = "  ";

/** A cell on one line: line breaks and tabs would break the alignment of every row after it. */
function oneLine(cell: string): string {
  return cell.replace(/\s*[\r\n]+\s*/g, " ⏎ ").replace(/\t/g, " ");
}

/** Width in characters (code points), not UTF-16 units. */
function width(text: string): number {
  return [...text].length;
}

/**
 * An aligned plain-text table: the header, then one line per row, each column padded to its
 * widest cell (the last one is not padded, and no line ends in spaces). Cells are made one-line.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header, ...rows].map((row) => row.map(oneLine));
  const widths = header.map((_, i) => Math.max(...lines.map((row) => width(row[i] ?? ""))));
  const pad = (cell: string, i: number) => cell + " ".repeat(Math.max(0, widths[i]! - width(cell)));
  return lines.map((row) => row.map(pad).join(GAP).trimEnd()).join("\n") + "\n";
}

/** "Label:  value" lines with the values aligned; pairs whose value is undefined are left out. */
export function renderFields(pairs: readonly (readonly [string, string | undefined])[]): string {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width)}${GAP}${oneLine(value)}`.trimEnd()).join("\n") + "\n";
}

/** `text` cut to `max` characters, the cut marked with "…". */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}
