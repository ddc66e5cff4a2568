import { fromJson, ScalarType, type DescEnum, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import { CronError } from "../domain/cron-error.js";
import { parseDuration } from "../domain/duration.js";

/** A parsed JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A parsed JSON object. */
export type JsonObject = { [key: string]: Json };

const TIMESTAMP = "google.protobuf.Timestamp";
const DURATION = "google.protobuf.Duration";
const FIELD_MASK = "google.protobuf.FieldMask";

/** What each checked well-known type looks like, for the error message. */
const WELL_KNOWN_FORMS: Record<string, string> = {
  [TIMESTAMP]: 'an RFC 3339 time such as "2026-03-26T08:00:00Z"',
  [DURATION]: 'a duration such as "1.5s", "500ms", "5m" or "1h30m"',
};

/** True for `google.protobuf.*` messages, which have their own JSON form. */
export function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

/** The field a JSON key names: its proto name or its JSON (lowerCamelCase) name. */
export function fieldByKey(desc: DescMessage, key: string): DescField | undefined {
  return desc.fields.find((f) => f.name === key || f.jsonName === key);
}

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Turns JSON sent by a caller, on any protocol (REST, Connect, gRPC-Web or gRPC with JSON), into
 * canonical proto JSON for `desc`, or fails with invalid_argument naming the field path as the
 * caller sent it (`path` prefixes it, e.g. `job.scheduel`):
 * - a key that is not a field fails ("unknown field");
 * - an enum is accepted as its full name (`CONCURRENCY_POLICY_ALLOW`), its short name in any case
 *   (`allow`) or its number, and becomes the full name; any other value fails;
 * - a scalar of the wrong JSON type fails (a string where a bool belongs, a fraction where an
 *   integer belongs);
 * - a Duration may also be written as people write them (`"500ms"`, `"5m"`, `"1h30m"`, `"2d"`, see
 *   {@link parseDuration}) and becomes proto's seconds form (`"300s"`);
 * - a Timestamp or Duration that does not decode fails;
 * - a FieldMask may name its paths in snake_case; they become the lowerCamelCase of proto JSON.
 * Keys keep the spelling the caller used; null stays null (the field's default).
 */
export function normalizeJson(desc: DescMessage, value: Json, path: string): Json {
  if (value === null) return value;
  if (isWellKnown(desc)) return normalizeWellKnown(desc, value, path);
  if (!isJsonObject(value)) throw CronError.invalid(path || "body", "expected a JSON object");
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const field = fieldByKey(desc, key);
    const at = path ? `${path}.${key}` : key;
    if (!field) throw CronError.invalid(at, "unknown field");
    out[key] = normalizeField(field, v, at);
  }
  return out;
}

function normalizeField(field: DescField, v: Json, at: string): Json {
  if (v === null) return v;
  switch (field.fieldKind) {
    case "enum":
      return enumName(field.enum, v, at);
    case "message":
      return normalizeJson(field.message, v, at);
    case "scalar":
      return checkScalar(field.scalar, v, at);
    case "list":
      if (!Array.isArray(v)) throw CronError.invalid(at, "expected a JSON array");
      return v.map((x, i) => normalizeElement(field, x, `${at}[${i}]`));
    case "map":
      if (!isJsonObject(v)) throw CronError.invalid(at, "expected a JSON object");
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeElement(field, x, `${at}.${k}`)]));
  }
}

/** One element of a list or one value of a map. */
function normalizeElement(field: DescField & { fieldKind: "list" | "map" }, v: Json, at: string): Json {
  const kind = field.fieldKind === "list" ? field.listKind : field.mapKind;
  if (kind === "enum") return enumName(field.enum!, v, at);
  if (kind === "message") return normalizeJson(field.message!, v, at);
  return checkScalar(field.scalar!, v, at);
}

function enumName(desc: DescEnum, value: Json, path: string): Json {
  const match =
    typeof value === "string"
      ? desc.values.find((v) => v.name === value || v.localName.toLowerCase() === value.toLowerCase())
      : desc.values.find((v) => v.number === value);
  if (!match) {
    const allowed = desc.values.filter((v) => v.number !== 0).map((v) => v.localName.toLowerCase());
    throw CronError.invalid(path, `unknown value ${describe(value)}; expected one of ${allowed.join(", ")}`);
  }
  return match.name;
}

const BITS_31 = 2n ** 31n;
const BITS_63 = 2n ** 63n;
/** The range of each integer type (the decoder's bounds, checked here so that the error names the field). */
const INTEGER_RANGES = new Map<ScalarType, [bigint, bigint]>([
  ...[ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32].map((t): [ScalarType, [bigint, bigint]] => [t, [-BITS_31, BITS_31 - 1n]]),
  ...[ScalarType.UINT32, ScalarType.FIXED32].map((t): [ScalarType, [bigint, bigint]] => [t, [0n, 2n * BITS_31 - 1n]]),
  ...[ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64].map((t): [ScalarType, [bigint, bigint]] => [t, [-BITS_63, BITS_63 - 1n]]),
  ...[ScalarType.UINT64, ScalarType.FIXED64].map((t): [ScalarType, [bigint, bigint]] => [t, [0n, 2n * BITS_63 - 1n]]),
]);

/**
 * The JSON type check of a scalar, and the range of integers; base64 is left to the proto JSON
 * decoder. Integers may come as JSON numbers or as decimal strings (64-bit values do not fit a
 * double), without surrounding spaces.
 */
function checkScalar(type: ScalarType, v: Json, at: string): Json {
  const expected = (what: string) => CronError.invalid(at, `expected ${what}, got ${describe(v)}`);
  if (type === ScalarType.BOOL) {
    if (typeof v !== "boolean") throw expected("true or false");
  } else if (type === ScalarType.STRING || type === ScalarType.BYTES) {
    if (typeof v !== "string") throw expected("a string");
    if (type === ScalarType.STRING && LONE_SURROGATE.test(v)) throw CronError.invalid(at, "not valid Unicode (a lone surrogate)");
  } else if (INTEGER_RANGES.has(type)) {
    const n = integerOf(v, BITS_64_TYPES.has(type));
    if (n === undefined) throw expected("an integer");
    const [min, max] = INTEGER_RANGES.get(type)!;
    if (n < min || n > max) throw CronError.invalid(at, `${describe(v)} is out of range (${min} to ${max})`);
  } else if (typeof v !== "number" && typeof v !== "string") {
    throw expected("a number");
  }
  return v;
}

const BITS_64_TYPES = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64, ScalarType.UINT64, ScalarType.FIXED64]);

/** The integer a JSON value holds, as the decoder reads it: 64-bit ones from decimal digits only. */
function integerOf(v: Json, bits64: boolean): bigint | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v !== "string" || v === "" || v.trim() !== v) return undefined;
  if (/^-?\d+$/.test(v)) return BigInt(v);
  const n = Number(v);
  return !bits64 && Number.isInteger(n) ? BigInt(n) : undefined;
}

/**
 * A UTF-16 surrogate without its pair: JSON escapes (`"\ud800"`) can write one, but a proto
 * string must be valid UTF-8, so the decoder refuses it (without naming the field) and a store
 * would keep U+FFFD in its place.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function normalizeWellKnown(desc: DescMessage, value: Json, path: string): Json {
  if (desc.typeName === FIELD_MASK) {
    if (typeof value !== "string") throw CronError.invalid(path, `expected field paths separated by commas, got ${describe(value)}`);
    return value
      .split(",")
      .map((p) =>
        p
          .split(".")
          .map((s) => protoCamelCase(s.trim()))
          .join("."),
      )
      .join(",");
  }
  const form = WELL_KNOWN_FORMS[desc.typeName];
  if (!form) return value;
  const humane = desc.typeName === DURATION && typeof value === "string" ? parseDuration(value) : undefined;
  if (humane !== undefined) return `${humane / 1000}s`;
  try {
    // Decoded once here so that a malformed value fails naming its field.
    fromJson(desc, value);
  } catch {
    throw CronError.invalid(path, `expected ${form}, got ${describe(value)}`);
  }
  return value;
}

/** The longest value quoted back in an error message. */
const QUOTE_LENGTH = 100;

/**
 * A value as an error message shows it: objects and arrays by their kind (they may be megabytes,
 * or nested too deep to print), other values as JSON, shortened.
 */
function describe(v: Json): string {
  if (Array.isArray(v)) return "an array";
  if (isJsonObject(v)) return "an object";
  if (typeof v === "number" && !Number.isFinite(v)) return "a number beyond any range";
  const text = JSON.stringify(v);
  return text.length > QUOTE_LENGTH ? `${text.slice(0, QUOTE_LENGTH)}...` : text;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a JSON request body; bytes that are not UTF-8 (RFC 8259 §8.1) or not JSON fail as invalid_argument naming `body`. */
export function parseJsonBytes(bytes: Uint8Array): Json {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw CronError.invalid("body", "not valid UTF-8");
  }
  return parseJsonText(text);
}

/** Parses JSON text; malformed text fails as invalid_argument naming `body`. */
export function parseJsonText(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw CronError.invalid("body", `malformed JSON: ${(err as Error).message}`);
  }
}

/**
 * The message of canonical proto JSON (see {@link normalizeJson}); one that does not decode fails
 * as invalid_argument naming its field (protobuf-es names it `Type.field`; the field is kept).
 */
export function messageFromJson<Desc extends DescMessage>(desc: Desc, json: Json): MessageShape<Desc> {
  try {
    return fromJson(desc, json);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = /field ([\w.]+) from JSON/.exec(message);
    const field = m ? m[1]!.split(".").pop()! : "body";
    throw CronError.invalid(field, message.replace(`${desc.typeName}.`, ""));
  }
}
