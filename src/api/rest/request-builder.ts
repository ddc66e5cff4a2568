import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { CronError } from "../../domain/cron-error.js";
import { normalizeJson, type Json, type JsonObject } from "../json-input.js";
import type { Route } from "./route-table.js";
import { jsonMaskPaths } from "../field-mask.js";

/**
 * Assembles the proto-JSON request of a REST call from its body, path variables and query
 * string, following the `google.api.http` rules: `body: "*"` maps the whole body, `body: "f"`
 * maps it to field f, and remaining fields come from the query.
 */
export function buildRequestJson(route: Route, body: Json | undefined, vars: Map<string, string>, query: URLSearchParams): JsonObject {
  const input = route.method.input;
  let json: JsonObject = {};
  if (route.body === "*") json = asObject(body ?? {}, "body");
  else if (route.body && body !== undefined) json[route.body] = bodyField(route, body);
  for (const key of new Set(query.keys())) setPath(json, input, key, query.getAll(key), `${key}`);
  for (const [path, value] of vars) setPath(json, input, path, [value], path);
  inferUpdateMask(route, json);
  return json;
}

/** Converts a body bound to one request field; errors name fields as the caller sent them. */
function bodyField(route: Route, body: Json): Json {
  const field = route.method.input.fields.find((f) => f.name === route.body);
  return field?.fieldKind === "message" ? normalizeJson(field.message, body, "") : body;
}

function asObject(value: Json, field: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw CronError.invalid(field, "expected a JSON object");
  return value;
}

/** Sets a dotted field path from string values, typed by the field the path ends at. */
function setPath(json: JsonObject, desc: DescMessage, path: string, values: string[], name: string): void {
  const segments = path.split(".");
  let target = json;
  let current = desc;
  for (const [i, seg] of segments.entries()) {
    const field = current.fields.find((f) => f.name === seg || f.jsonName === seg);
    if (!field) throw CronError.invalid(name, "unknown field");
    if (i === segments.length - 1) {
      target[field.name] = typedValue(field, values, name);
      return;
    }
    if (field.fieldKind !== "message") throw CronError.invalid(name, "unknown field");
    target[field.name] = asObject(target[field.name] ?? target[field.jsonName] ?? {}, name);
    target = target[field.name] as JsonObject;
    current = field.message;
  }
}

function typedValue(field: DescField, values: string[], name: string): Json {
  if (field.fieldKind === "list") return values.map((v) => scalarValue(field.scalar, v, name));
  if (values.length > 1) throw CronError.invalid(name, "given more than once");
  const v = values[0]!;
  if (field.fieldKind === "scalar") return scalarValue(field.scalar, v, name);
  if (field.fieldKind === "enum") return v;
  if (field.fieldKind === "message" && field.message.typeName.startsWith("google.protobuf.")) return v;
  throw CronError.invalid(name, "cannot be set from the URL");
}

function scalarValue(type: ScalarType | undefined, v: string, name: string): Json {
  if (type === ScalarType.BOOL) {
    if (v !== "true" && v !== "false") throw CronError.invalid(name, "expected true or false");
    return v === "true";
  }
  if (type === ScalarType.STRING || type === ScalarType.BYTES || type === undefined) return v;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)) throw CronError.invalid(name, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * A PUT or PATCH whose body is one message field and that sends no `update_mask` updates exactly
 * the leaf fields present in the body (AIP-134): `{"enabled": false}` changes only enabled, and
 * `{"target": {"timeout": "60s"}}` only the target's timeout.
 */
function inferUpdateMask(route: Route, json: JsonObject): void {
  if (route.verb !== "PUT" && route.verb !== "PATCH") return;
  const maskField = route.method.input.fields.find((f) => f.name === "update_mask");
  const bodyField = route.method.input.fields.find((f) => f.name === route.body);
  if (!maskField || !bodyField || bodyField.fieldKind !== "message" || json.update_mask !== undefined) return;
  json.update_mask = jsonMaskPaths(bodyField.message, json[route.body] ?? null).join(",");
}
