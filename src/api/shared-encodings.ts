import { create, toBinary, toJson, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Json } from "./json-input.js";

/**
 * Answers whose list holds shared messages (a listing's jobs, see `sharedJobProto`): each such
 * element is frozen, so it cannot change, and is encoded once per encoding, its bytes or text
 * reused by every answer that holds it. A page listed over and over then costs the encoding of
 * its wrapper alone, and of the elements that changed. Every other message is encoded as usual.
 */

/**
 * One JSON form of messages (the Connect protocol's, or the REST routes'): the JSON value of a
 * message of any type. A form must be compositional, as protobuf JSON is: the value of a list of
 * messages is the list of its elements' values, each by the same form.
 */
export interface JsonForm {
  json(schema: DescMessage, message: Message): Json;
}

/** The Connect protocol's JSON form, as connect-es's JSON serialization writes it (its default write options: the strict options are read options). */
export const CONNECT_JSON: JsonForm = { json: (schema, message) => toJson(schema, message) as Json };

/** The encoding of each frozen message, per encoding (a JSON form, or {@link BINARY}). */
const encoded = new WeakMap<object, WeakMap<object, string | Uint8Array>>();
/** The key of the protobuf binary encoding in {@link encoded}. */
const BINARY = {};

/** The JSON text of a message in a form: `JSON.stringify(form.json(schema, message))`, shared elements written once. */
export function jsonText(form: JsonForm, schema: DescMessage, message: Message): string {
  const field = sharedList(schema, message);
  if (!field) return JSON.stringify(form.json(schema, message));
  const elements = listOf(message, field).map((m) => sharedEncoding(form, m, () => JSON.stringify(form.json(field.message, m))));
  // The wrapper with one empty element in the list: the form writes the list's key where it
  // belongs (an empty list may be left out), and its value is replaced by the elements' text.
  const wrapper = form.json(schema, { ...message, [field.localName]: [create(field.message)] } as Message) as Record<string, Json>;
  const key = field.jsonName in wrapper ? field.jsonName : field.name;
  if (!(key in wrapper)) return JSON.stringify(form.json(schema, message));
  const members = Object.entries(wrapper).map(([k, v]) => `${JSON.stringify(k)}:${k === key ? `[${elements.join(",")}]` : JSON.stringify(v)}`);
  return `{${members.join(",")}}`;
}

/**
 * The protobuf binary encoding of a message, shared elements encoded once. They come first, then
 * the rest of the message: the bytes `toBinary` writes when the list is the message's first field
 * (as a listing's is), and the same message whatever its number (fields may come in any order).
 */
export function binaryBytes(schema: DescMessage, message: Message): Uint8Array {
  const field = sharedList(schema, message);
  if (!field) return toBinary(schema, message);
  const writer = new BinaryWriter();
  for (const m of listOf(message, field)) writer.tag(field.number, WireType.LengthDelimited).bytes(sharedEncoding(BINARY, m, () => toBinary(field.message, m)));
  return writer.raw(toBinary(schema, { ...message, [field.localName]: [] } as Message)).finish();
}

type MessageList = DescField & { fieldKind: "list"; listKind: "message" };

/** The first list field of `message` holding messages, all of them frozen; none when it holds none. */
function sharedList(schema: DescMessage, message: Message): MessageList | undefined {
  for (const field of schema.fields) {
    if (field.fieldKind !== "list" || field.listKind !== "message") continue;
    const list = listOf(message, field);
    if (list.length > 0 && list.every((m) => Object.isFrozen(m))) return field;
  }
  return undefined;
}

function listOf(message: Message, field: MessageList): Message[] {
  return (message as unknown as Record<string, Message[]>)[field.localName]!;
}

function sharedEncoding<T extends string | Uint8Array>(encoding: object, message: Message, encode: () => T): T {
  let byMessage = encoded.get(encoding);
  if (!byMessage) encoded.set(encoding, (byMessage = new WeakMap()));
  let bytes = byMessage.get(message) as T | undefined;
  if (bytes === undefined) byMessage.set(message, (bytes = encode()));
  return bytes;
}
