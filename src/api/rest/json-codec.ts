import { ScalarType, toJson, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { isWellKnown, type Json, type JsonObject } from "../json-input.js";
import type { JsonForm } from "../shared-encodings.js";

const INT64_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);

/** Short lowercase name of an enum value: `JOB_STATUS_ACTIVE` → `active`. */
function shortName(desc: DescEnum, name: string): string {
  const value = desc.values.find((v) => v.name === name);
  return value ? value.localName.toLowerCase() : name;
}

function mapValues(obj: JsonObject, fn: (v: Json, k: string) => Json): JsonObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v, k)]));
}

/** How the REST routes write proto JSON before {@link protoJsonToRest}: proto field names, every field present. */
export const REST_WRITE_OPTIONS = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

/** The REST routes' JSON form of a message (see {@link protoJsonToRest}). */
export const REST_JSON: JsonForm = { json: (schema, message) => protoJsonToRest(schema, toJson(schema, message, REST_WRITE_OPTIONS) as Json) };

/**
 * Turns proto JSON (proto field names, implicit fields emitted) into the REST shape: enums as
 * lowercase short names, 64-bit integers as JSON numbers, and every unset message-typed field
 * (timestamps, durations, `target`, `auth`…) as null, so that every key is always present. The
 * members of a oneof are the exception: only the chosen one is shown, since a body naming two
 * members (even as null) would not decode when sent back.
 */
export function protoJsonToRest(desc: DescMessage, value: Json): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value) || isWellKnown(desc)) return value;
  const out: JsonObject = {};
  for (const field of desc.fields) {
    const v = value[field.name];
    if (v === undefined) {
      if (field.fieldKind === "message" && !field.oneof) out[field.name] = null;
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
