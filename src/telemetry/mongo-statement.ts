/** Levels of a command kept in `db.query.text`; deeper values (documents, filters' operands) are masked. */
const SHAPE_DEPTH = 2;
/** Longest `db.query.text` exported: a shape, never a payload. */
const MAX_STATEMENT_CHARS = 512;

/**
 * The `db.query.text` of a MongoDB command: its shape with every value replaced by "?", two levels
 * deep and at most 512 characters. Values never leave (stored jobs hold credentials), and bulk
 * inserts do not turn into kilobytes of masked bytes per span.
 */
export function mongoStatement(command: unknown): string {
  return JSON.stringify(shapeOf(command, SHAPE_DEPTH)).slice(0, MAX_STATEMENT_CHARS);
}

function shapeOf(value: unknown, depth: number): unknown {
  if (depth === 0 || typeof value !== "object" || value === null || Array.isArray(value)) return "?";
  if (Object.getPrototypeOf(value) !== Object.prototype) return "?";
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v, depth - 1)]));
}
