/** One segment of a path template: a literal, or a variable bound to a request field path. */
export type Segment = { literal: string } | { variable: string };

/** A parsed `google.api.http` path template such as `/api/v1/cron/jobs/{job.job_id}/tasks`. */
export interface PathTemplate {
  segments: Segment[];
  /** Literal segment count: more literals make a more specific route. */
  literals: number;
}

/**
 * Parses a path template. Supports `{field}` and `{field=*}` variables, one path segment each,
 * which is what every cronmesh route uses; anything else is rejected at start-up.
 */
export function parsePathTemplate(template: string): PathTemplate {
  if (!template.startsWith("/")) throw new Error(`path template must start with /: ${template}`);
  const segments = template
    .slice(1)
    .split("/")
    .map((part): Segment => {
      const m = /^\{([a-z_][a-z0-9_.]*)(=\*)?\}$/.exec(part);
      if (m) return { variable: m[1]! };
      if (part.includes("{") || part.includes("*")) throw new Error(`unsupported path template segment ${part} in ${template}`);
      return { literal: part };
    });
  return { segments, literals: segments.filter((s) => "literal" in s).length };
}

/** Matches a request path; returns the variable bindings (URL-decoded), or undefined. */
export function matchPath(template: PathTemplate, path: string): Map<string, string> | undefined {
  const parts = path.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
  if (parts.length !== template.segments.length) return undefined;
  const vars = new Map<string, string>();
  for (const [i, seg] of template.segments.entries()) {
    const part = parts[i]!;
    if ("literal" in seg) {
      if (seg.literal !== part) return undefined;
    } else {
      const value = safeDecode(part);
      if (value === undefined || value === "") return undefined;
      vars.set(seg.variable, value);
    }
  }
  return vars;
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
