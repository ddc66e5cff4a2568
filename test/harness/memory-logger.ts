import { createLogger } from "../../src/telemetry/logger.js";

/** A parsed JSON log line. */
export type Line = Record<string, unknown>;

/** A logger built like the service's, writing JSON lines to memory. */
export function memoryLogger(level: string) {
  const raw: string[] = [];
  const log = createLogger(level, { write: (s: string) => void raw.push(s) });
  return { log, raw, lines: () => raw.map((s) => JSON.parse(s) as Line) };
}
