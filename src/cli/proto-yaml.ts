import { fromJson, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import YAML from "yaml";
import { normalizeJson, type Json, type JsonObject } from "../api/json-input.js";
import { protoJsonToRest } from "../api/rest/json-codec.js";
import { CronError } from "../domain/cron-error.js";
import { formatDuration } from "../domain/duration.js";
import { parseDurationMs } from "./durations.js";

const DURATION = "google.protobuf.Duration";

type DurationFn = (value: Json, path: string) => Json;

/** Applies `fn` to every google.protobuf.Duration value of a JSON object shaped like `desc`. */
function mapDurations(desc: DescMessage, value: Json, fn: DurationFn, path = ""): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const field = desc.fields.find((f) => f.name === key || f.jsonName === key);
    const at = path ? `${path}.${key}` : key;
    const message = field?.message;
    if (!field || !message || v === null) out[key] = v;
    else if (message.typeName === DURATION && field.fieldKind === "message") out[key] = fn(v, at);
    else if (field.fieldKind === "message") out[key] = mapDurations(message, v, fn, at);
    else if (field.fieldKind === "list" && Array.isArray(v)) out[key] = v.map((x, i) => mapDurations(message, x, fn, `${at}[${i}]`));
    else if (field.fieldKind === "map" && typeof v === "object" && !Array.isArray(v)) {
      out[key] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapDurations(message, x, fn, `${at}.${k}`)]));
    } else out[key] = v;
  }
  return out;
}

/** "30s", "5m", "1h30m" → the proto JSON form ("1800s"); anything else fails naming the field. */
function durationToProto(value: Json, path: string): Json {
  if (typeof value !== "string") throw CronError.invalid(path, `write a duration with its unit, such as "30s" or "5m", not ${JSON.stringify(value)}`);
  try {
    return `${parseDurationMs(value) / 1000}s`;
  } catch (err) {
    throw CronError.invalid(path, (err as Error).message);
  }
}

/** The proto JSON form of a duration ("5400s") → its short form ("1h30m"). */
function durationToText(value: Json): Json {
  return typeof value === "string" && /^\d+(\.\d+)?s$/.test(value) ? formatDuration(Math.round(Number(value.slice(0, -1)) * 1000)) : value;
}

/** The one document of a YAML text as plain data; syntax errors and extra documents fail. */
function readDocument(text: string): unknown {
  const docs = YAML.parseAllDocuments(text);
  if (docs.length > 1) throw new CronError("invalid_argument", `holds ${docs.length} YAML documents; write one per file`);
  const doc = docs[0];
  const problem = doc?.errors[0];
  if (problem) throw new CronError("invalid_argument", problem.message.split("\n")[0]!);
  return doc?.toJS() ?? null;
}

/**
 * Reads a message written in YAML: proto field names (snake_case; the JSON camelCase names work
 * too), enum values by their short lower-case name ("forbid") or full name, durations as "30s",
 * "500ms", "5m" or "1h30m", times in RFC 3339. Throws an invalid-argument CronError naming the
 * field at fault (unknown fields included), its message starting with `source` (the file name).
 */
export function parseMessageYaml<Desc extends DescMessage>(desc: Desc, text: string, source: string): MessageShape<Desc> {
  try {
    const data = readDocument(text);
    if (data === null || typeof data !== "object" || Array.isArray(data)) throw new CronError("invalid_argument", `expected a mapping of ${desc.name} fields`);
    const json = normalizeJson(desc, mapDurations(desc, data as Json, durationToProto), "");
    return fromJson(desc, json);
  } catch (err) {
    if (!(err instanceof CronError)) throw new CronError("invalid_argument", `${source}: ${(err as Error).message}`);
    throw new CronError(err.code, `${source}: ${err.message}`, err.field);
  }
}

/** Drops null values at every level (unset times, as the REST shape writes them). */
function withoutNulls(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

/**
 * A message as plain data in the form {@link parseMessageYaml} reads: proto field names, short
 * enum names, 64-bit integers as numbers, short durations; unset and zero fields left out.
 */
export function messageToData(desc: DescMessage, message: MessageShape<DescMessage>): JsonObject {
  const json = toJson(desc, message, { useProtoFieldName: true }) as Json;
  return withoutNulls(mapDurations(desc, protoJsonToRest(desc, json), durationToText)) as JsonObject;
}

/** YAML text of plain data, long strings kept on one line. */
export function toYaml(data: unknown): string {
  return YAML.stringify(data, { lineWidth: 0 });
}
