import { create, type DescMessage } from "@bufbuild/protobuf";
import { CronError } from "../domain/cron-error.js";

type Obj = Record<string, unknown>;

/**
 * Copies the fields named by `paths` (proto field names, dot-separated for nested messages) from
 * `source` into a copy of `target`. A path naming a message replaces it whole. Paths listed in
 * `ignored` (output-only fields) are skipped; unknown paths fail naming `update_mask`.
 */
export function applyFieldMask<T extends object>(desc: DescMessage, target: T, source: T, paths: string[], ignored: ReadonlySet<string>): T {
  const out = structuredCloneMessage(target);
  for (const path of paths) {
    if (ignored.has(path.split(".")[0]!)) continue;
    copyPath(desc, out as Obj, source as Obj, path.split("."), path);
  }
  return out;
}

function copyPath(desc: DescMessage, target: Obj, source: Obj, segments: string[], path: string): void {
  const [head, ...rest] = segments;
  const field = desc.fields.find((f) => f.name === head);
  if (!field) throw CronError.invalid("update_mask", `unknown field ${JSON.stringify(path)}`);
  const key = field.localName;
  if (rest.length === 0) {
    target[key] = source[key];
    return;
  }
  if (field.fieldKind !== "message") throw CronError.invalid("update_mask", `${JSON.stringify(path)} goes inside a non-message field`);
  target[key] ??= create(field.message);
  const nested = (source[key] as Obj | undefined) ?? (create(field.message) as unknown as Obj);
  copyPath(field.message, target[key] as Obj, nested, rest, path);
}

function structuredCloneMessage<T extends object>(m: T): T {
  // Messages are plain objects with a $typeName; a shallow-by-level copy on write is enough here,
  // but a deep copy keeps the stored record untouched whatever the paths are.
  return deepCopy(m) as T;
}

function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)]));
  }
  return v;
}
