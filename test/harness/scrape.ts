import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect } from "vitest";

/** One metric family of a Prometheus text exposition. */
export interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[];
}

/** Scrapes /metrics and parses it with a Prometheus text-format parser. */
export async function scrape(baseUrl: string): Promise<Map<string, Family>> {
  const res = await fetch(`${baseUrl}/metrics`);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of the family's series with these labels (NaN when absent). */
export const valueOf = (f: Family | undefined, labels: Record<string, string> = {}) =>
  Number(f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);
