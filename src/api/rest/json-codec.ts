import { fromJson, ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { CronError } from "../../domain/cron-error.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const INT64_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
const TIMESTAMP = "google.protobuf.Timestamp";

/** Well-known types have their own JSON form, which is passed through untouched. */
function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

/** Short lowercase name of an enum value: `JOB_STATUS_ACTIVE` → `active`. */
function shortName(desc: DescEnum, name: string): string {
  const value = desc.values.find((v) => v.name === name);
  return value ? value.localName.toLowerCase() : name;
}

function fullName(desc: DescEnum, value: Json, path: string): Json {
  if (typeof value !== "string") return value;
  const match = desc.values.find((v) => v.name === value || v.localName.toLowerCase() === value.toLowerCase());
  if (!match) {
    const allowed = desc.values.filter((v) => v.number !== 0).map((v) => v.localName.toLowerCase());
    throw CronError.invalid(path, `unknown value ${JSON.stringify(value)}; expected one of ${allowed.join(", ")}`);
  }
  return match.name;
}

/** What each checked well-known type looks like, for the error message. */
const WELL_KNOWN_FORMS: Record<string, string> = {
  [TIMESTAMP]: 'an RFC 3339 time such as "2026-03-26T08:00:00Z"',
  "google.protobuf.Duration": 'a duration in seconds such as "1.5s"',
};

/** Decodes a well-known value once so that a malformed one fails naming its field. */
function checkWellKnown(desc: DescMessage, value: Json, path: string): Json {
  const form = WELL_KNOWN_FORMS[desc.typeName];
  if (!form) return value;
  try {
    fromJson(desc, value);
  } catch {
    throw CronError.invalid(path, `expected ${form}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function fieldByKey(desc: DescMessage, key: string): DescField | undefined {
  return desc.fields.find((f) => f.name === key || f.jsonName === key);
}

/**
 * Turns REST JSON into proto JSON for `desc`: lowercase enum names become full names, and any key
 * that is not a field fails as invalid_argument naming its path (e.g. `job.scheduel`).
 */
export function restToProtoJson(desc: DescMessage, value: Json, path: string): Json {
  if (value === null) return value;
  if (isWellKnown(desc)) return checkWellKnown(desc, value, path);
  if (typeof value !== "object" || Array.isArray(value)) throw CronError.invalid(path || "body", "expected a JSON object");
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const field = fieldByKey(desc, key);
    const at = path ? `${path}.${key}` : key;
    if (!field) throw CronError.invalid(at, "unknown field");
    out[key] = restFieldToProto(field, v, at);
  }
  return out;
}

function restFieldToProto(field: DescField, v: Json, at: string): Json {
  if (v === null) return v;
  switch (field.fieldKind) {
    case "enum":
      return fullName(field.enum, v, at);
    case "message":
      return restToProtoJson(field.message, v, at);
    case "list":
      if (!Array.isArray(v)) throw CronError.invalid(at, "expected a JSON array");
      if (field.listKind === "enum") return v.map((x, i) => fullName(field.enum, x, `${at}[${i}]`));
      if (field.listKind === "message") return v.map((x, i) => restToProtoJson(field.message, x, `${at}[${i}]`));
      return v;
    case "map":
      if (typeof v !== "object" || Array.isArray(v)) throw CronError.invalid(at, "expected a JSON object");
      if (field.mapKind === "enum") return mapValues(v, (x, k) => fullName(field.enum, x, `${at}.${k}`));
      if (field.mapKind === "message") return mapValues(v, (x, k) => restToProtoJson(field.message, x, `${at}.${k}`));
      return v;
    default:
      return v;
  }
}

function mapValues(obj: JsonObject, fn: (v: Json, k: string) => Json): JsonObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v, k)]));
}

/**
 * Turns proto JSON (proto field names, implicit fields emitted) into the REST shape: enums as
 * lowercase short names, 64-bit integers as JSON numbers, and unset timestamps as null so that
 * every timestamp key is always present.
 */
export function protoJsonToRest(desc: DescMessage, value: Json): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value) || isWellKnown(desc)) return value;
  const out: JsonObject = {};
  for (const field of desc.fields) {
    const v = value[field.name];
    if (v === undefined) {
      if (field.fieldKind === "message" && field.message.typeName === TIMESTAMP) out[field.name] = null;
      continue;
    }
    out[field.name] = protoFieldToRest(field, v);
  }
  return out;
}

function protoFieldToRest(field: DescField, v: Json): Json {
  switch (field.fieldKind) {
    case "enum":
      return typeof v === "string" ? shortName(field.enum, v) : v;
    case "scalar":
      return INT64_TYPES.has(field.scalar) ? toNumber(v) : v;
    case "message":
      return protoJsonToRest(field.message, v);
    case "list":
      if (!Array.isArray(v)) return v;
      if (field.listKind === "enum") return v.map((x) => (typeof x === "string" ? shortName(field.enum, x) : x));
      if (field.listKind === "message") return v.map((x) => protoJsonToRest(field.message, x));
      return INT64_TYPES.has(field.scalar) ? v.map(toNumber) : v;
    case "map":
      if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
      if (field.mapKind === "enum") return mapValues(v, (x) => (typeof x === "string" ? shortName(field.enum, x) : x));
      if (field.mapKind === "message") return mapValues(v, (x) => protoJsonToRest(field.message, x));
      return v;
  }
}

/** 64-bit integers become JSON numbers when they fit a double exactly, else stay strings. */
function toNumber(v: Json): Json {
  if (typeof v !== "string") return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

export type { Json, JsonObject };
