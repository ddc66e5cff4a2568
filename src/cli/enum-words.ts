/**
 * The lower-case word of a generated enum value, without its prefix: RunStatus.DEAD_LETTERED →
 * "dead_lettered", JobStatus.ACTIVE → "active"; "-" for 0 (UNSPECIFIED) and for unknown numbers.
 */
export function enumWord(values: Record<number, string>, value: number): string {
  const name = value === 0 ? undefined : values[value];
  return name ? name.toLowerCase() : "-";
}

/** The words of an enum's values other than 0, for a choice list: ["queued", "running", …]. */
export function enumWords(values: Record<number, string>): string[] {
  return Object.entries(values)
    .filter(([key]) => /^\d+$/.test(key) && key !== "0")
    .map(([, name]) => name.toLowerCase());
}

/** The value of an enum word ({@link enumWord}'s inverse); 0 (unspecified) for an unknown word. */
export function enumFromWord(values: Record<number, string>, word: string): number {
  const entry = Object.entries(values).find(([key, name]) => /^\d+$/.test(key) && name.toLowerCase() === word.toLowerCase());
  return entry ? Number(entry[0]) : 0;
}
