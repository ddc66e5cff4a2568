import { create, isFieldSet, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { CronError } from "../domain/cron-error.js";
import { fieldByKey, isJsonObject, isWellKnown, type Json } from "./json-input.js";

type Obj = Record<string, unknown>;
type OneofValue = { case: string | undefined; value?: unknown };

/**
 * Copies the fields named by `paths` (proto field names, dot-separated for nested messages) from
 * `source` into a copy of `target`. A path naming a message, map or list replaces it whole. A path
 * into (or naming) a member of a oneof other than the one `target` holds takes the source's whole
 * oneof: for `auth`, whose only content is its oneof, that replaces auth whole. Paths whose first
 * segment is in `ignored` (output-only fields) are skipped; unknown paths fail naming `update_mask`.
 */
export function applyFieldMask<T extends object>(desc: DescMessage, target: T, source: T, paths: string[], ignored: ReadonlySet<string>): T {
  const out = deepCopy(target) as T;
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
  if (field.oneof && (target[field.oneof.localName] as OneofValue).case !== field.localName) {
    target[field.oneof.localName] = source[field.oneof.localName];
    return;
  }
  if (rest.length === 0) {
    setField(target, field, getField(source, field));
    return;
  }
  if (field.fieldKind !== "message") throw CronError.invalid("update_mask", `${JSON.stringify(path)} goes inside a non-message field`);
  if (getField(target, field) === undefined) setField(target, field, create(field.message));
  const nested = (getField(source, field) ?? create(field.message)) as Obj;
  copyPath(field.message, getField(target, field) as Obj, nested, rest, path);
}

/** A field's value in a message object; a oneof member not chosen reads as undefined. */
function getField(message: Obj, field: DescField): unknown {
  if (!field.oneof) return message[field.localName];
  const oneof = message[field.oneof.localName] as OneofValue;
  return oneof.case === field.localName ? oneof.value : undefined;
}

function setField(message: Obj, field: DescField, value: unknown): void {
  if (!field.oneof) message[field.localName] = value;
  else message[field.oneof.localName] = value === undefined ? { case: undefined } : { case: field.localName, value };
}

/** True for a field an inferred mask descends into: a singular message that is not a well-known type. */
function descends(field: DescField): field is DescField & { fieldKind: "message" } {
  return field.fieldKind === "message" && !isWellKnown(field.message);
}

/**
 * The update mask implied by a JSON body (AIP-134): one path per leaf key present, zero values and
 * null included, so `{"description": ""}` clears the description and `{"target": {"timeout": "60s"}}`
 * names `target.timeout` only. Maps, lists, timestamps and durations are leaves; an empty object
 * or null names the message itself. Paths use proto field names.
 */
export function jsonMaskPaths(desc: DescMessage, json: Json, prefix = ""): string[] {
  if (!isJsonObject(json)) return [];
  return Object.entries(json).flatMap(([key, value]) => {
    const field = fieldByKey(desc, key);
    const path = prefix + (field?.name ?? key);
    if (field && descends(field) && isJsonObject(value) && Object.keys(value).length > 0) {
      return jsonMaskPaths(field.message, value, `${path}.`);
    }
    return [path];
  });
}

/**
 * The update mask implied by a message (an RPC update without a mask): one path per leaf field
 * set to a non-default value, descending into set messages; a set message with nothing set in it
 * names itself. A field can only be cleared over RPC with an explicit mask, since a default value
 * is indistinguishable from an absent one.
 */
export function setFieldPaths(desc: DescMessage, message: object, prefix = ""): string[] {
  return desc.fields
    .filter((f) => isFieldSet(message as never, f))
    .flatMap((f) => {
      const path = prefix + f.name;
      const nested = descends(f) ? setFieldPaths(f.message, getField(message as Obj, f) as object, `${path}.`) : [];
      return nested.length > 0 ? nested : [path];
    });
}

function deepCopy(v: unknown): unknown {
  // Messages are plain objects with a $typeName: a deep copy keeps the stored record untouched
  // whatever the paths are.
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)]));
  }
  return v;
}
