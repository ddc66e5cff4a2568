import { create, toJson, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { Json } from "./json-input.js";

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

/** The JSON text of each frozen message, per form: a frozen message cannot change, so its text cannot either. */
const texts = new WeakMap<JsonForm, WeakMap<object, string>>();

/**
 * The JSON text of a message in a form: `JSON.stringify(form.json(schema, message))`, except that
 * the elements of its first list of frozen messages (shared answers, such as a listing's jobs;
 * see `sharedJobProto`) are each written once and their text reused. A page listed over and over
 * then costs the encoding of its wrapper alone, and of the jobs that changed.
 */
export function jsonText(form: JsonForm, schema: DescMessage, message: Message): string {
  const field = sharedList(schema, message);
  if (!field) return JSON.stringify(form.json(schema, message));
  const elements = (message as unknown as Record<string, Message[]>)[field.localName]!;
  const elementsText = `[${elements.map((m) => frozenText(form, field.message, m)).join(",")}]`;
  // The wrapper with one empty element in the list: the form writes the list's key where it
  // belongs (an empty list may be left out), and its value is replaced by the elements' text.
  const wrapper = form.json(schema, { ...message, [field.localName]: [create(field.message)] } as Message) as Record<string, Json>;
  const key = field.jsonName in wrapper ? field.jsonName : field.name;
  if (!(key in wrapper)) return JSON.stringify(form.json(schema, message));
  const members = Object.entries(wrapper).map(([k, v]) => `${JSON.stringify(k)}:${k === key ? elementsText : JSON.stringify(v)}`);
  return `{${members.join(",")}}`;
}

/** The first list field of `message` holding messages, all of them frozen; none when it holds none. */
function sharedList(schema: DescMessage, message: Message): (DescField & { fieldKind: "list"; listKind: "message" }) | undefined {
  for (const field of schema.fields) {
    if (field.fieldKind !== "list" || field.listKind !== "message") continue;
    const list = (message as unknown as Record<string, unknown[]>)[field.localName]!;
    if (list.length > 0 && list.every((m) => Object.isFrozen(m))) return field;
  }
  return undefined;
}

function frozenText(form: JsonForm, schema: DescMessage, message: Message): string {
  let byMessage = texts.get(form);
  if (!byMessage) texts.set(form, (byMessage = new WeakMap()));
  let text = byMessage.get(message);
  if (text === undefined) byMessage.set(message, (text = JSON.stringify(form.json(schema, message))));
  return text;
}
