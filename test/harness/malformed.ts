import { fromJson, ScalarType, toBinary, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import type { Route } from "../../src/api/rest/route-table.js";
import type { Transport, WireRequest } from "./wire.js";

/**
 * Generators of malformed requests, read from the service descriptors and the REST route table
 * (no list of routes or RPCs here): valid-looking requests with one thing broken — one field of
 * the wrong type or out of range, an unknown key, a body that is not JSON, a bad path or query,
 * a wrong header, a bad gRPC frame — on every protocol the port speaks.
 */

/** How a response is judged: which protocol's error form it must have. */
export type Protocol = "rest" | "connect" | "connect-stream" | "grpc" | "grpc-web" | "grpc-web-text" | "raw";

/** One generated request, printed briefly when a property fails. */
export interface FuzzCase {
  protocol: Protocol;
  /** What is broken, in a few words. */
  broken: string;
  request: WireRequest;
}

/** Real records, so that a broken request also reaches past the lookups into the use cases and the store. */
export interface Targets {
  jobId: string;
  runId: string;
  taskId: string;
}

/** 1 MiB: the server's request body limit (MAX_BODY_BYTES). */
const LIMIT = 1024 * 1024;
/** The largest body sent: ten times the limit. */
export const HUGE = 10 * 1024 * 1024;
/** How deep the deeply nested values go. */
const DEPTH = 10_000;

const HOLE = "\u0001hole\u0001";
const HOLE_KEY = "\u0001key\u0001";

// ---------------------------------------------------------------------------------------------
// Bad values: JSON text (or bytes that are not JSON) put where one field's value belongs.

interface Fragment {
  label: string;
  bytes: Buffer;
}

const frag = (label: string, text: string | Buffer): Fragment => ({ label, bytes: Buffer.isBuffer(text) ? text : Buffer.from(text) });
const quoted = (bytes: number[]) => Buffer.from([0x22, ...bytes, 0x22]);

const DEEP_ARRAY = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const DEEP_OBJECT = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);

/** Numbers out of every range, and numbers in strings. */
const NUMBERS = [
  "1e400",
  "-1e400",
  "1e-400",
  "18446744073709551616",
  "-9223372036854775809",
  "9223372036854775807",
  "4294967296",
  "2147483648",
  "-2147483649",
  "1.5",
  "-1",
  "-0",
  "0",
  "1E+2",
  '"1e400"',
  '"18446744073709551616"',
  '"-1"',
  '"1.5"',
  '" 1"',
  '"0x10"',
  '"NaN"',
  '"Infinity"',
  '"-0"',
];
/** Every JSON type. */
const TYPES = ["true", "false", "null", "[]", "{}", '""', "[1,2,3]", "[null]", "[{}]", '{"a":1}', "[[[]]]", '"x"'];
/** Durations and times that do not decode or are out of range. */
const TIMES = [
  '"-5s"',
  '"1e400s"',
  '"99999999999999999999s"',
  '"315576000001s"',
  '"5"',
  '"s"',
  '"-0.000000001s"',
  '"1.0000000001s"',
  '"0s"',
  '"0000-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59Z"',
  '"10000-01-01T00:00:00Z"',
  '"1970-01-01T00:00:00+25:00"',
  '"2026-02-30T00:00:00Z"',
  '"-000001-01-01T00:00:00Z"',
  '"1969-12-31T23:59:59.999999999Z"',
  '"1970-01-01T00:00:00Z"',
];
/** Strings that are data, never operators, paths or headers. */
const STRINGS = [
  '"$where"',
  '"$gt"',
  '{"$where":"sleep(1000)"}',
  '{"$gt":""}',
  '[{"$ne":null}]',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\r\\nX-Injected: 1"',
  '"../../etc/passwd"',
  '"\' OR 1=1 --"',
  '"%E0%A4%A"',
  '"\\u202e\\ud83d\\ude00"',
  '"secret://"',
  '"http://169.254.169.254/"',
  '"*"',
  '" "',
];

const FRAGMENTS: Fragment[] = [
  ...[...NUMBERS, ...TYPES, ...TIMES, ...STRINGS].map((t) => frag(t, t)),
  frag("a string of 100,000 characters", JSON.stringify("x".repeat(100_000))),
  frag("a string of 10,000 NULs", JSON.stringify("\u0000".repeat(10_000))),
  frag(`arrays nested ${DEPTH} deep`, DEEP_ARRAY),
  frag(`objects nested ${DEPTH} deep`, DEEP_OBJECT),
  frag("an array of 100,000 numbers", `[${"1,".repeat(99_999)}1]`),
  frag("an object of 10,000 keys", JSON.stringify(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, "v"])))),
  frag("invalid UTF-8 (C3 28)", quoted([0xc3, 0x28])),
  frag("invalid UTF-8 (FF FE)", quoted([0xff, 0xfe])),
  frag("overlong UTF-8 (C0 AF)", quoted([0xc0, 0xaf])),
  frag("a UTF-8 encoded surrogate (ED A0 80)", quoted([0xed, 0xa0, 0x80])),
  frag("truncated UTF-8 (E0 A4)", quoted([0xe0, 0xa4])),
  frag("a raw NUL in a string", quoted([0x61, 0x00, 0x62])),
  ...["NaN", "Infinity", "0x10", "01", "1.", ".5", "+1", "'single'", "undefined", "", '"unterminated', "{", "[", "tru", "nul"].map((t) =>
    frag(`not JSON: ${t}`, t),
  ),
];

/** Keys that are no field (or odd map keys): operators, prototype names, empty, NUL, dotted, huge. */
const UNKNOWN_KEYS = [
  "$where",
  "$gt",
  "__proto__",
  "constructor",
  "prototype",
  "",
  "\u0000",
  "a.b",
  "colour",
  "x".repeat(100_000),
  "job_id\u0000",
  "\ud800",
  "€",
];

// ---------------------------------------------------------------------------------------------
// Valid-looking requests, read from the descriptors.

/** Far ahead, so that nothing a fuzzed request creates ever fires. */
const FAR = "2099-01-01T00:00:00Z";
const SAMPLES: Record<string, Record<string, unknown>> = {
  "cronmesh.v1.Job": { name: "fuzz", schedule: "0 8 * * *", handler: "h", start_at: FAR },
  "cronmesh.v1.Task": { handler: "h" },
  "cronmesh.v1.HttpTarget": { url: "http://127.0.0.1:9/fuzz" },
};

/** A plausible value of a field, or undefined to leave it out. */
function sampleOf(field: DescField, targets: Targets | undefined, depth: number): unknown {
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING && targets) {
    if (field.name === "job_id") return targets.jobId;
    if (field.name === "run_id") return targets.runId;
    if (field.name === "task_id") return targets.taskId;
  }
  if (field.fieldKind === "scalar" && field.name === "version" && targets) return "1";
  if (field.fieldKind === "message" && SAMPLES[field.message.typeName] && depth < 2) return validJson(field.message, targets, depth + 1);
  return undefined;
}

/**
 * A valid-looking JSON object for `desc`: the known samples for jobs, tasks and targets, and the
 * ids of real records in id fields (when `targets` is given). Other fields are left out.
 */
export function validJson(desc: DescMessage, targets: Targets | undefined, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { ...SAMPLES[desc.typeName] };
  for (const field of desc.fields) {
    const v = sampleOf(field, targets, depth);
    if (v !== undefined) out[field.name] = v;
  }
  return out;
}

/** A field path inside a message: the fields, with list elements and map values as `[0]` / `.k`. */
type FieldPath = { field: DescField; step: "field" | "element" | "value" }[];

/** Every field path of `desc` down to `depth` levels (well-known types are leaves). */
export function fieldPaths(desc: DescMessage, depth = 3): FieldPath[] {
  const out: FieldPath[] = [];
  for (const field of desc.fields) {
    out.push([{ field, step: "field" }]);
    const inner = field.fieldKind === "list" ? "element" : field.fieldKind === "map" ? "value" : undefined;
    if (inner)
      out.push([
        { field, step: "field" },
        { field, step: inner },
      ]);
    const message = field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message") ? field.message : undefined;
    if (!message || message.typeName.startsWith("google.protobuf.") || depth <= 1) continue;
    const prefix: FieldPath = inner
      ? [
          { field, step: "field" },
          { field, step: inner },
        ]
      : [{ field, step: "field" }];
    for (const rest of fieldPaths(message, depth - 1)) out.push([...prefix, ...rest]);
  }
  return out;
}

/** Sets `value` at `path` in `obj`, creating the objects and arrays on the way; keys spelled as asked. */
function setAt(obj: Record<string, unknown>, path: FieldPath, value: unknown, jsonNames: boolean): void {
  let at: any = obj;
  path.forEach((seg, i) => {
    const last = i === path.length - 1;
    const key: string | number = seg.step === "field" ? (jsonNames ? seg.field.jsonName : seg.field.name) : seg.step === "element" ? 0 : "k";
    if (seg.step === "field" && jsonNames && seg.field.name in at) {
      at[key] = at[seg.field.name];
      delete at[seg.field.name];
    }
    if (last) at[key] = value;
    else {
      const next = path[i + 1]!;
      const wantArray = next.step === "element";
      if (typeof at[key] !== "object" || at[key] === null || Array.isArray(at[key]) !== wantArray) at[key] = wantArray ? [] : {};
      at = at[key];
    }
  });
}

/** One field broken: a bad value at a field path, or an unknown key added. */
interface Breakage {
  label: string;
  apply(base: Record<string, unknown>): Buffer;
}

/** Serialises `obj` and splices the raw bytes of `hole` (and a raw key) into it. */
function splice(obj: Record<string, unknown>, hole?: Buffer, key?: string): Buffer {
  let text = JSON.stringify(obj);
  if (key !== undefined) text = text.replace(JSON.stringify(HOLE_KEY), JSON.stringify(key));
  if (!hole) return Buffer.from(text);
  const [before, after] = text.split(JSON.stringify(HOLE));
  return Buffer.concat([Buffer.from(before!), hole, Buffer.from(after ?? "")]);
}

/** A broken field of `desc`: any field (nested ones included) set to any bad value, or an unknown key at any level. */
export function breakageOf(desc: DescMessage): fc.Arbitrary<Breakage> {
  const paths = fieldPaths(desc);
  // Objects a key can be added to: messages (an unknown field) and maps (an entry with that key: data).
  const messagePaths = paths.filter((p) => ["message", "map"].includes(p.at(-1)!.field.fieldKind) && p.at(-1)!.step === "field");
  const unknownKey = fc
    .record({ key: fc.constantFrom(...UNKNOWN_KEYS), at: fc.option(fc.constantFrom<FieldPath>([], ...messagePaths)) })
    .map(({ key, at }): Breakage => ({
      label: `unknown key ${JSON.stringify(key.slice(0, 20))} at ${at?.map((s) => s.field.name).join(".") || "top"}`,
      apply: (base) => {
        const copy = structuredClone(base);
        if (at && at.length) setAt(copy, at, { [HOLE_KEY]: 1 }, false);
        else copy[HOLE_KEY] = 1;
        return splice(copy, undefined, key);
      },
    }));
  if (!paths.length) return unknownKey;
  const badValue = fc
    .record({ path: fc.constantFrom(...paths), value: fc.constantFrom(...FRAGMENTS), jsonNames: fc.boolean() })
    .map(({ path, value, jsonNames }): Breakage => ({
      label: `${path.map((s) => (s.step === "field" ? s.field.name : s.step === "element" ? "[0]" : ".k")).join(".")} = ${value.label.slice(0, 60)}`,
      apply: (base) => {
        const copy = structuredClone(base);
        setAt(copy, path, HOLE, jsonNames);
        return splice(copy, value.bytes);
      },
    }));
  return fc.oneof({ arbitrary: badValue, weight: 4 }, { arbitrary: unknownKey, weight: 1 });
}

let huge: Buffer | undefined;
/** Ten times the limit: a JSON object with one 10 MB string, made once. */
function hugeBody(): Buffer {
  return (huge ??= Buffer.concat([Buffer.from('{"name":"'), Buffer.alloc(HUGE - 12, 0x78), Buffer.from('"}')]));
}

/** A body that is no valid JSON object: other types, truncated text, garbage, bad encodings, nesting, sizes. */
function wholeBody(base: Record<string, unknown>): fc.Arbitrary<{ label: string; bytes: Buffer }> {
  const text = JSON.stringify(base);
  return fc.oneof(
    fc.constantFrom(...FRAGMENTS).map((f) => ({ label: `body ${f.label.slice(0, 60)}`, bytes: f.bytes })),
    fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((n) => ({ label: `body cut after ${n} bytes`, bytes: Buffer.from(text.slice(0, n)) })),
    fc.uint8Array({ maxLength: 2048 }).map((b) => ({ label: "binary garbage body", bytes: Buffer.from(b) })),
    fc.constantFrom(
      { label: "a UTF-16 body", bytes: Buffer.from(`\ufeff${text}`, "utf16le") },
      { label: "a body with a UTF-8 BOM", bytes: Buffer.from(`\ufeff${text}`) },
      { label: "a body with a trailing value", bytes: Buffer.from(`${text} {}`) },
      { label: "two JSON documents", bytes: Buffer.from(`${text}\n${text}`) },
      { label: "a body of exactly the limit (whitespace around {})", bytes: Buffer.concat([Buffer.alloc(LIMIT - 2, 0x20), Buffer.from("{}")]) },
      { label: "a body one byte over the limit", bytes: Buffer.alloc(LIMIT + 1, 0x20) },
      { label: "a gzip body sent as plain JSON", bytes: gzipSync(text) },
      { label: "a 10 MB body", bytes: hugeBody() },
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Headers, paths and query strings.

const BAD_CONTENT_TYPES = [
  "text/plain",
  "application/xml",
  "application/json; charset=utf-16",
  "application/jsonx",
  "multipart/form-data; boundary=x",
  "application/json;;;",
  "APPLICATION/JSON",
  "application/x-www-form-urlencoded",
  "*/*",
  "",
  "application/proto",
  "application/grpc",
  "application/connect+json",
];
/** Content types an RPC request may wrongly carry: other codecs, parameters, the other protocols' types. */
const BAD_RPC_CONTENT_TYPES = [
  "application/grpc+xml",
  "application/grpc; charset=utf-8",
  "application/grpc-web-text+proto",
  "application/connect+json",
  "application/connect",
  "application/json; charset=latin1",
  "application/proto; x=1",
  "text/plain",
  "",
  "application/grpc+json+proto",
  "APPLICATION/GRPC",
];
/** Headers the server reads (tracing, identity, encodings, timeouts), with bad values. */
const BAD_HEADERS: [string, string][] = [
  ["traceparent", "00-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-zzzzzzzzzzzzzzzz-zz"],
  ["traceparent", "ff-" + "0".repeat(32) + "-" + "0".repeat(16) + "-01"],
  ["tracestate", "=,=,".repeat(2000)],
  ["baggage", "k=%E0%A4%A;p=" + "v".repeat(4000)],
  ["x-cronmesh-actor", "$where"],
  ["x-cronmesh-actor", "a".repeat(8000)],
  ["content-encoding", "gzip"],
  ["content-encoding", "br"],
  ["content-encoding", "zstd"],
  ["content-encoding", "gzip, gzip"],
  ["accept-encoding", "x".repeat(4000)],
  ["connect-protocol-version", "2"],
  ["connect-timeout-ms", "1e400"],
  ["connect-timeout-ms", "-1"],
  ["connect-timeout-ms", "99999999999999999999"],
  ["grpc-timeout", "1x"],
  ["grpc-timeout", "999999999H"],
  ["grpc-timeout", "-1S"],
  ["grpc-encoding", "zstd"],
  ["grpc-encoding", "gzip"],
  ["grpc-accept-encoding", "%%%"],
  ["authorization", "Bearer " + "a".repeat(4000)],
  ["authorization", "Basic %%%"],
  ["x-api-key", "$gt"],
];

/** Path segments that are no id: bad percent-encodings, separators, operators, huge. */
const BAD_SEGMENTS = [
  "%E0%A4%A",
  "%",
  "%%",
  "%00",
  "%ZZ",
  "..",
  ".",
  "%2F",
  "a%2Fb",
  "%2e%2e",
  "x".repeat(10_000),
  "%F0%9F%98%80",
  "$where",
  "%24gt",
  "__proto__",
  "constructor",
  "%C0%AF",
  "%ED%A0%80",
  "a%20b",
  "%0d%0aX:1",
  "-1",
  "1e400",
  "18446744073709551616",
  "0",
];
/** Query values that are no value of any field. */
const BAD_QUERY_VALUES = [
  "",
  "1e400",
  "18446744073709551616",
  "-1",
  "-9223372036854775809",
  "1.5",
  "abc",
  "%E0%A4%A",
  "%",
  "%00",
  "%FF%FE",
  "true",
  "[]",
  "{}",
  "$where",
  "%24gt",
  "0x10",
  "%201",
  "NaN",
  "Infinity",
  "x".repeat(8_000),
  "2026-02-30T00:00:00Z",
  "-5s",
];

/** A query string naming one field (dotted for nested ones) with a bad value, an unknown key, a repeated key… */
function badQuery(desc: DescMessage): fc.Arbitrary<{ label: string; query: string }> {
  const keys = fieldPaths(desc)
    .filter((p) => p.every((s) => s.step === "field"))
    .map((p) => p.map((s) => s.field.name).join("."));
  const key = fc.oneof(
    fc.constantFrom(...(keys.length ? keys : ["x"])),
    fc.constantFrom("%E0%A4%A", "__proto__.polluted", "constructor.prototype.x", "a.".repeat(500) + "b", "$where", "", "%00", "job.job_id"),
  );
  return fc.oneof(
    fc
      .record({ k: key, v: fc.constantFrom(...BAD_QUERY_VALUES) })
      .map(({ k, v }) => ({ label: `query ${k.slice(0, 40)}=${v.slice(0, 20)}`, query: `${k}=${v}` })),
    fc
      .record({ k: key, a: fc.constantFrom(...BAD_QUERY_VALUES), b: fc.constantFrom(...BAD_QUERY_VALUES) })
      .map(({ k, a, b }) => ({ label: `query key ${k.slice(0, 40)} repeated`, query: `${k}=${a}&${k}=${b}` })),
    fc.constantFrom("&&&", "=", "==", "a", "a=1&a", "%", "&%E0%A4%A=1", "?=?", "x=1;y=2", "#frag").map((q) => ({ label: `query ${q}`, query: q })),
  );
}

// ---------------------------------------------------------------------------------------------
// REST cases.

/** The field a path variable names, for the id of a real record in it. */
function realSegment(variable: string, targets: Targets): string {
  if (variable.endsWith("job_id")) return targets.jobId;
  if (variable.endsWith("run_id")) return targets.runId;
  if (variable.endsWith("task_id")) return targets.taskId;
  if (variable === "version") return "1";
  return "x_1";
}

/** The JSON body a route expects when nothing is broken. */
function restBaseBody(route: Route, targets: Targets): Record<string, unknown> {
  if (route.body === "*") return {};
  const field = route.method.input.fields.find((f) => f.name === route.body);
  return field?.fieldKind === "message" ? validJson(field.message, targets) : {};
}

/** The message a route's body carries (the request itself for `body: "*"`). */
function restBodyMessage(route: Route): DescMessage | undefined {
  if (!route.body) return undefined;
  if (route.body === "*") return route.method.input;
  const field = route.method.input.fields.find((f) => f.name === route.body);
  return field?.fieldKind === "message" ? field.message : undefined;
}

/** A request to one REST route with one thing broken: a body field, the whole body, a path segment, the query or a header. */
export function restCase(route: Route, targets: Targets): fc.Arbitrary<FuzzCase> {
  const variables = route.template.segments.flatMap((s) => ("variable" in s ? [s.variable] : []));
  const base = restBaseBody(route, targets);
  const bodyDesc = restBodyMessage(route);
  const pathOf = (broken?: { index: number; value: string }) =>
    "/" +
    route.template.segments
      .map((s, i) => ("literal" in s ? s.literal : broken?.index === i ? broken.value : encodeURIComponent(realSegment(s.variable, targets))))
      .join("/");
  const send = fc.record({ transport: fc.constantFrom<Transport>("h1", "h1", "h1", "h2") });
  const plain = (label: string, path: string, body: Buffer | undefined, headers: Record<string, string> = {}) => ({ label, path, body, headers });

  const kinds: fc.Arbitrary<ReturnType<typeof plain>>[] = [];
  if (bodyDesc) kinds.push(breakageOf(bodyDesc).map((b) => plain(b.label, pathOf(), b.apply(base))));
  kinds.push(wholeBody(base).map((b) => plain(b.label, pathOf(), b.bytes)));
  kinds.push(badQuery(route.method.input).map((q) => plain(q.label, `${pathOf()}?${q.query}`, bodyDesc ? Buffer.from(JSON.stringify(base)) : undefined)));
  kinds.push(
    fc
      .constantFrom(...BAD_CONTENT_TYPES)
      .map((t) => plain(`content-type ${JSON.stringify(t)}`, pathOf(), Buffer.from(JSON.stringify(base)), { "content-type": t })),
  );
  kinds.push(
    fc
      .constantFrom(...BAD_HEADERS)
      .map(([k, v]) => plain(`header ${k}: ${v.slice(0, 30)}`, pathOf(), bodyDesc ? Buffer.from(JSON.stringify(base)) : undefined, { [k]: v })),
  );
  const segmentIndexes = route.template.segments.flatMap((s, i) => ("variable" in s ? [i] : []));
  if (variables.length) {
    kinds.push(
      fc
        .record({ index: fc.constantFrom(...segmentIndexes), value: fc.constantFrom(...BAD_SEGMENTS) })
        .map((b) => plain(`path segment ${b.value.slice(0, 30)}`, pathOf(b), bodyDesc ? Buffer.from(JSON.stringify(base)) : undefined)),
    );
  }
  kinds.push(fc.constantFrom("/", "//", "/.", "/%E0%A4%A", "/x", "/../../..").map((tail) => plain(`path with ${tail}`, pathOf() + tail, undefined)));
  return fc
    .tuple(fc.oneof(...kinds), send, fc.constantFrom(route.verb, route.verb, route.verb, "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"))
    .map(([c, s, verb]) => ({
      protocol: "rest" as const,
      broken: verb === route.verb ? c.label : `${c.label}, verb ${verb}`,
      request: {
        transport: s.transport,
        method: verb,
        path: c.path,
        headers: { ...(c.body ? { "content-type": "application/json" } : {}), ...c.headers },
        body: c.body ?? new Uint8Array(),
        streaming: route.method.methodKind === "server_streaming",
      },
    }));
}

// ---------------------------------------------------------------------------------------------
// RPC cases (Connect, gRPC, gRPC-Web).

/** A length-prefixed message (gRPC, gRPC-Web and Connect streaming framing). */
export function frame(flags: number, data: Uint8Array, length = data.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, data]);
}

let bomb: Buffer | undefined;
/** 64 MiB of zeros, gzipped (about 64 KiB), made once. */
function gzipBomb(): Buffer {
  return (bomb ??= gzipSync(Buffer.alloc(64 * LIMIT)));
}

/** Frames that are not one well-formed message. */
const BAD_FRAMES: { label: string; build: (data: Buffer) => Buffer; headers?: Record<string, string> }[] = [
  { label: "a frame longer than its data", build: (d) => frame(0, d, d.length + 10) },
  { label: "a frame shorter than its data", build: (d) => frame(0, d, Math.max(0, d.length - 1)) },
  { label: "a frame of length 2^32-1", build: (d) => frame(0, d, 0xffffffff) },
  { label: "a frame of length 2^31", build: (d) => frame(0, d, 0x80000000) },
  { label: "a compressed frame without an encoding", build: (d) => frame(1, d) },
  { label: "a compressed frame that is not gzip", build: (d) => frame(1, d), headers: { "grpc-encoding": "gzip", "connect-content-encoding": "gzip" } },
  { label: "a gzip bomb frame", build: () => frame(1, gzipBomb()), headers: { "grpc-encoding": "gzip", "connect-content-encoding": "gzip" } },
  { label: "flags 0x02 (end of stream)", build: (d) => frame(2, d) },
  { label: "flags 0x80 (trailers)", build: (d) => frame(0x80, d) },
  { label: "flags 0xff", build: (d) => frame(0xff, d) },
  { label: "no frame at all", build: () => Buffer.alloc(0) },
  { label: "two frames", build: (d) => Buffer.concat([frame(0, d), frame(0, d)]) },
  { label: "three bytes of a frame header", build: () => Buffer.from([0, 0, 0]) },
  { label: "a frame and a half", build: (d) => Buffer.concat([frame(0, d), frame(0, d).subarray(0, 3)]) },
  { label: "an unknown encoding", build: (d) => frame(1, d), headers: { "grpc-encoding": "zstd", "connect-content-encoding": "zstd" } },
];

/** Protobuf binary that does not decode, or decodes into bad values. */
function badBinary(valid: Buffer): fc.Arbitrary<{ label: string; bytes: Buffer }> {
  const deepGroups = Buffer.concat([
    Buffer.alloc(DEPTH, 0xfb).map((_, i) => (i % 2 ? 0x07 : 0xfb)),
    Buffer.alloc(DEPTH, 0xfc).map((_, i) => (i % 2 ? 0x07 : 0xfc)),
  ]);
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((b) => ({ label: "binary garbage", bytes: Buffer.from(b) })),
    fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => {
      const b = Buffer.from(valid);
      if (b.length) b[at % b.length] = byte;
      return { label: `valid message with byte ${at % Math.max(1, b.length)} = ${byte}`, bytes: b };
    }),
    fc.nat().map((n) => ({ label: `valid message cut after ${n % Math.max(1, valid.length)} bytes`, bytes: valid.subarray(0, n % Math.max(1, valid.length)) })),
    fc.constantFrom(
      { label: "a string field with invalid UTF-8", bytes: Buffer.from([0x0a, 0x02, 0xc3, 0x28]) },
      { label: "a length of 2^32 bytes", bytes: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]) },
      { label: "a varint of 11 bytes", bytes: Buffer.from([0x08, ...Array<number>(10).fill(0xff), 0x01]) },
      { label: "field number 0", bytes: Buffer.from([0x00, 0x01]) },
      { label: "wire type 6", bytes: Buffer.from([0x0e, 0x01]) },
      { label: "wire type 7", bytes: Buffer.from([0x0f, 0x01]) },
      { label: "an end-group without a start", bytes: Buffer.from([0x0c]) },
      { label: `unknown groups nested ${DEPTH / 2} deep`, bytes: deepGroups },
      { label: "a field number of 2^29-1", bytes: Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01]) },
      { label: "a negative int64 version", bytes: Buffer.from([0x10, ...Array<number>(9).fill(0xff), 0x01]) },
    ),
  );
}

/** The way an RPC request is encoded on the wire. */
type Encoding = { protocol: Protocol; transport: Transport; contentType: string; json: boolean; enveloped: boolean };

function encodingsOf(method: DescMethod): Encoding[] {
  const unary = method.methodKind === "unary";
  const out: Encoding[] = [
    { protocol: "grpc", transport: "h2", contentType: "application/grpc", json: false, enveloped: true },
    { protocol: "grpc", transport: "h2", contentType: "application/grpc+json", json: true, enveloped: true },
    { protocol: "grpc-web", transport: "h1", contentType: "application/grpc-web+proto", json: false, enveloped: true },
    { protocol: "grpc-web", transport: "h2", contentType: "application/grpc-web+json", json: true, enveloped: true },
    { protocol: "grpc-web-text", transport: "h1", contentType: "application/grpc-web-text", json: false, enveloped: true },
  ];
  if (unary) {
    out.push({ protocol: "connect", transport: "h1", contentType: "application/json", json: true, enveloped: false });
    out.push({ protocol: "connect", transport: "h2", contentType: "application/json", json: true, enveloped: false });
    out.push({ protocol: "connect", transport: "h1", contentType: "application/proto", json: false, enveloped: false });
  } else {
    out.push({ protocol: "connect-stream", transport: "h1", contentType: "application/connect+json", json: true, enveloped: true });
    out.push({ protocol: "connect-stream", transport: "h2", contentType: "application/connect+proto", json: false, enveloped: true });
  }
  return out;
}

/** Valid binary of a JSON request, or empty when the sample does not encode. */
function binaryOf(desc: DescMessage, json: Record<string, unknown>): Buffer {
  try {
    return Buffer.from(toBinary(desc, fromJson(desc, json as never)));
  } catch {
    return Buffer.alloc(0);
  }
}

/**
 * A request to one RPC with one thing broken, over any protocol that can carry it: a message field
 * (JSON), the message bytes (binary), the framing, a header, or a Connect GET's query.
 */
export function rpcCase(method: DescMethod, targets: Targets): fc.Arbitrary<FuzzCase> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const streaming = method.methodKind !== "unary";
  const withIds = validJson(method.input, targets);
  const withoutIds = validJson(method.input, undefined);
  const payload = (enc: Encoding, base: Record<string, unknown>) =>
    enc.json
      ? fc.oneof(
          { arbitrary: breakageOf(method.input).map((b) => ({ label: b.label, bytes: b.apply(base) })), weight: 3 },
          { arbitrary: wholeBody(base), weight: 1 },
        )
      : badBinary(binaryOf(method.input, base));
  const valid = (enc: Encoding, base: Record<string, unknown>) => (enc.json ? Buffer.from(JSON.stringify(base)) : binaryOf(method.input, base));

  const posted = fc
    .record({ enc: fc.constantFrom(...encodingsOf(method)), base: fc.constantFrom(withIds, withoutIds), how: fc.nat({ max: 9 }) })
    .chain(({ enc, base, how }) => {
      const headers = { "content-type": enc.contentType, ...(enc.protocol === "grpc" ? { te: "trailers" } : {}) };
      const wrap = (bytes: Buffer, extra: Record<string, string> = {}) => {
        const body = enc.protocol === "grpc-web-text" ? Buffer.from(bytes.toString("base64")) : bytes;
        return { transport: enc.transport, method: "POST", path, headers: { ...headers, ...extra }, body, streaming };
      };
      const envelope = (data: Buffer) => (enc.enveloped ? frame(0, data) : data);
      const tag = (label: string) => `${enc.protocol} ${enc.contentType} over ${enc.transport}: ${label}`;
      // Mostly the message is broken; sometimes the framing or a header of a valid message.
      if (how < 6) return payload(enc, base).map((p) => ({ protocol: enc.protocol, broken: tag(p.label), request: wrap(envelope(p.bytes)) }));
      if (how < 8 && enc.enveloped) {
        return fc
          .constantFrom(...BAD_FRAMES)
          .map((f) => ({ protocol: enc.protocol, broken: tag(f.label), request: wrap(f.build(valid(enc, base)), f.headers) }));
      }
      if (how < 8 && enc.protocol === "grpc-web-text") {
        return fc
          .constantFrom("!!!!", "AAA", "A===", "\u0000")
          .map((t) => ({ protocol: enc.protocol, broken: tag(`bad base64 ${t}`), request: { ...wrap(Buffer.alloc(0)), body: Buffer.from(t) } }));
      }
      const header = fc.oneof(
        fc.constantFrom(...BAD_HEADERS),
        fc.constantFrom(...BAD_RPC_CONTENT_TYPES).map((t): [string, string] => ["content-type", t]),
      );
      return header.map(([k, v]) => ({
        protocol: enc.protocol,
        broken: tag(`header ${k}: ${v.slice(0, 30)}`),
        request: wrap(envelope(valid(enc, base)), { [k]: v }),
      }));
    });
  if (streaming) return posted;
  return fc.oneof({ arbitrary: posted, weight: 4 }, { arbitrary: connectGet(path, method, withIds), weight: 1 });
}

/** A Connect unary GET with garbage in `message=` and the other query parameters. */
function connectGet(path: string, method: DescMethod, base: Record<string, unknown>): fc.Arbitrary<FuzzCase> {
  const json = Buffer.from(JSON.stringify(base));
  const query = fc.oneof(
    breakageOf(method.input).map((b) => ({ label: b.label, q: `encoding=json&message=${encodeURIComponent(b.apply(base).toString("latin1"))}` })),
    fc.constantFrom(...BAD_QUERY_VALUES).map((v) => ({ label: `message=${v.slice(0, 20)}`, q: `encoding=json&message=${v}` })),
    fc.constantFrom(
      { label: "base64=1 with bad base64", q: "encoding=json&base64=1&message=%%%" },
      { label: "base64=1 with invalid UTF-8", q: `encoding=json&base64=1&message=${Buffer.from([0x7b, 0xff, 0x7d]).toString("base64url")}` },
      { label: "compression=gzip of no gzip", q: `encoding=json&compression=gzip&message=${encodeURIComponent(json.toString())}` },
      { label: "compression=gzip base64 garbage", q: "encoding=json&compression=gzip&base64=1&message=AAAA" },
      { label: "compression=zstd", q: `encoding=json&compression=zstd&message=${encodeURIComponent(json.toString())}` },
      { label: "encoding=proto with garbage", q: "encoding=proto&message=%FF%FF%FF" },
      { label: "encoding=proto base64 garbage", q: "encoding=proto&base64=1&message=____" },
      { label: "encoding=xml", q: "encoding=xml&message=x" },
      { label: "no message", q: "encoding=json" },
      { label: "no encoding", q: `message=${encodeURIComponent(json.toString())}` },
      { label: "connect=v2", q: `connect=v2&encoding=json&message=${encodeURIComponent(json.toString())}` },
      { label: "message twice", q: `encoding=json&message=${encodeURIComponent(json.toString())}&message=x` },
      { label: "a 100k message", q: `encoding=json&message=${"x".repeat(100_000)}` },
    ),
  );
  return fc.tuple(query, fc.constantFrom<Transport>("h1", "h2")).map(([{ label, q }, transport]) => ({
    protocol: "connect" as const,
    broken: `connect GET over ${transport}: ${label}`,
    request: { transport, method: "GET", path: `${path}?${q}`, headers: {}, body: new Uint8Array() },
  }));
}

// ---------------------------------------------------------------------------------------------
// Raw connections: bytes that are not (quite) HTTP.

const CRLF = "\r\n";
/** A whole HTTP/1.1 request as bytes (the connection closes after the answer). */
export function rawHttp(head: string, body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(`Connection: close${CRLF}${CRLF}`), body]);
}

/** Requests broken below HTTP: bytes in the request line, bad framing, smuggling, huge headers, fake HTTP/2. */
export function rawCase(paths: string[]): fc.Arbitrary<FuzzCase> {
  const path = fc.constantFrom(...paths);
  const raw = (broken: string, bytes: Buffer): FuzzCase => ({
    protocol: "raw",
    broken,
    request: { transport: "raw", method: "", path: "", headers: {}, body: new Uint8Array(), raw: bytes },
  });
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((b) => raw("random bytes", Buffer.from(b))),
    fc
      .tuple(path, fc.uint8Array({ minLength: 1, maxLength: 16 }))
      .map(([p, b]) =>
        raw(
          "raw bytes in the path",
          Buffer.concat([
            Buffer.from(`GET ${p}/`),
            Buffer.from(b).map((x) => (x === 0x20 || x === 0x0a || x === 0x0d ? 0x80 : x)),
            Buffer.from(` HTTP/1.1${CRLF}Host: x${CRLF}Connection: close${CRLF}${CRLF}`),
          ]),
        ),
      ),
    path.map((p) =>
      raw(
        "a chunked body with a bad chunk size",
        rawHttp(
          `POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Transfer-Encoding: chunked${CRLF}`,
          Buffer.from(`zz${CRLF}{}${CRLF}0${CRLF}${CRLF}`),
        ),
      ),
    ),
    path.map((p) =>
      raw(
        "a chunk bigger than sent",
        rawHttp(
          `POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Transfer-Encoding: chunked${CRLF}`,
          Buffer.from(`ffffffff${CRLF}{}`),
        ),
      ),
    ),
    path.map((p) =>
      raw(
        "both Content-Length and Transfer-Encoding",
        rawHttp(
          `POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 2${CRLF}Transfer-Encoding: chunked${CRLF}`,
          Buffer.from(`2${CRLF}{}${CRLF}0${CRLF}${CRLF}`),
        ),
      ),
    ),
    path.map((p) =>
      raw(
        "a body shorter than its Content-Length",
        rawHttp(`POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 100${CRLF}`, Buffer.from("{}")),
      ),
    ),
    path.map((p) =>
      raw(
        "a negative Content-Length",
        rawHttp(`POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: -1${CRLF}`, Buffer.from("{}")),
      ),
    ),
    path.map((p) =>
      raw(
        "a Content-Length of 2^64",
        rawHttp(`POST ${p} HTTP/1.1${CRLF}Host: x${CRLF}Content-Type: application/json${CRLF}Content-Length: 18446744073709551616${CRLF}`, Buffer.from("{}")),
      ),
    ),
    path.map((p) => raw("a 100 KB header", rawHttp(`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}X-Big: ${"a".repeat(100_000)}${CRLF}`))),
    path.map((p) => raw("10,000 headers", rawHttp(`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}${"X-A: 1\r\n".repeat(10_000)}`))),
    path.map((p) => raw("a NUL in a header", rawHttp(`GET ${p} HTTP/1.1${CRLF}Host: x${CRLF}X-Cronmesh-Actor: a\u0000b${CRLF}`))),
    path.map((p) => raw("HTTP/0.9", Buffer.from(`GET ${p}${CRLF}`))),
    path.map((p) => raw("HTTP/3.0", rawHttp(`GET ${p} HTTP/3.0${CRLF}Host: x${CRLF}`))),
    path.map((p) => raw("an unknown method", rawHttp(`BREW ${p} HTTP/1.1${CRLF}Host: x${CRLF}`))),
    fc.constantFrom(
      raw("PRI but not the HTTP/2 preface", Buffer.from("PRIVATE / HTTP/1.1\r\nHost: x\r\n\r\n")),
      raw("the HTTP/2 preface then garbage", Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.alloc(64, 0xff)])),
      raw(
        "the HTTP/2 preface then a frame of length 2^24-1",
        Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0xff, 0xff, 0xff, 0x04, 0, 0, 0, 0, 0])]),
      ),
      raw("half the HTTP/2 preface", Buffer.from("PRI * HT")),
      raw("two bytes", Buffer.from("PR")),
      raw("an empty line", Buffer.from("\r\n")),
    ),
  );
}

/** Printed for a failing case: protocol, what is broken, and the request in short (bodies cut). */
export function describeCase(c: FuzzCase): string {
  const r = c.request;
  const bytes = Buffer.from(r.raw ?? r.body);
  const preview = bytes
    .subarray(0, 300)
    .toString("latin1")
    .replace(/[^\x20-\x7e]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
  const head =
    r.transport === "raw"
      ? "raw connection"
      : `${r.transport} ${r.method} ${r.path.slice(0, 300)}${r.path.length > 300 ? "…" : ""} ${JSON.stringify(r.headers, (_k, v: unknown) => (typeof v === "string" && v.length > 100 ? `${v.slice(0, 100)}…(${v.length})` : v))}`;
  return `[${c.protocol}] ${c.broken}\n  ${head}\n  body (${bytes.length} bytes): ${preview}${bytes.length > 300 ? "…" : ""}`;
}

/** Gives generated cases a short printed form, so that a failure report shows the request, not megabytes. */
export function printable(arb: fc.Arbitrary<FuzzCase>): fc.Arbitrary<FuzzCase> {
  return arb.map((c) => Object.assign(c, { [fc.toStringMethod]: () => describeCase(c) }));
}
