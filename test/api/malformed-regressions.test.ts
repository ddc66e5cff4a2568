import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf } from "../harness/judge.js";
import { frame, HUGE, rawHttp, type FuzzCase, type Protocol } from "../harness/malformed.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { createWireClient, type Transport, type WireClient } from "../harness/wire.js";

/**
 * The defects the malformed-request suite found, one fixed request each, with the answer it must
 * get: each got a 5xx, a gRPC status of the server's fault, no answer at all, or a silently
 * changed value before its fix.
 */

const JOBS = "/api/v1/cron/jobs";
const CRON = "/cronmesh.v1.CronService";
const job = { name: "regression", schedule: "0 8 * * *", handler: "h" };
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const GRPC_WEB = { "content-type": "application/grpc-web+proto" };

function request(
  protocol: Protocol,
  transport: Transport,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
): FuzzCase {
  return { protocol, broken: "", request: { transport, method, path, headers, body } };
}

/** [case, request, expected code, expected field (undefined: not checked)] */
const CASES: [string, FuzzCase, string, string | undefined][] = [
  [
    "REST: an unknown key outside Latin-1 (the field header threw: unhandled rejection)",
    request("rest", "h1", "POST", JOBS, { "content-type": "application/json" }, json({ ...job, "€": 1 })),
    "invalid_argument",
    "%E2%82%AC",
  ],
  [
    'REST: a gzip body (read as JSON: "body: not valid UTF-8")',
    request("rest", "h1", "POST", JOBS, { "content-type": "application/json", "content-encoding": "gzip" }, gzipSync(json(job))),
    "invalid_argument",
    "content-encoding",
  ],
  [
    "Connect: an unknown key with a newline (no answer)",
    request("connect", "h1", "POST", `${CRON}/CreateJob`, { "content-type": "application/json" }, json({ job: { ...job, "a\nb": 1 } })),
    "invalid_argument",
    "job.a%0Ab",
  ],
  [
    "Connect: a lone surrogate in a string (refused by the decoder, without the field)",
    request("connect", "h1", "POST", `${CRON}/CreateJob`, { "content-type": "application/json" }, json({ job: { ...job, name: "\ud800" } })),
    "invalid_argument",
    "job.name",
  ],
  [
    "gRPC-Web: a frame longer than its data (refused without the field)",
    request("grpc-web", "h1", "POST", `${CRON}/GetJob`, GRPC_WEB, frame(0, Buffer.from([0x0a, 0x01, 0x78]), 10)),
    "invalid_argument",
    "body",
  ],
  [
    "gRPC-Web: an unknown key that is a lone surrogate (the error message could not be percent-encoded: no answer)",
    request("grpc-web", "h1", "POST", `${CRON}/GetWhoAmI`, { "content-type": "application/grpc-web+json" }, frame(0, Buffer.from('{"\\ud800":1}'))),
    "invalid_argument",
    "%EF%BF%BD",
  ],
  [
    "gRPC: a value that does not decode, made of lone surrogates (connect's codec echoed it into grpc-message: no answer, an error logged)",
    request(
      "grpc",
      "h2",
      "POST",
      `${CRON}/UpdateJob`,
      { ...GRPC, "content-type": "application/grpc+json" },
      frame(0, json({ job: { ...job, retry: { multiplier: "\udfff\ud800" } } })),
    ),
    "invalid_argument",
    "multiplier",
  ],
  [
    "Connect GET: base64=1 with a message that is not base64 (500)",
    request("connect", "h1", "GET", `${CRON}/GetJob?encoding=json&base64=1&message=%25%25%25`, {}),
    "invalid_argument",
    "message",
  ],
  [
    "Connect GET: encoding=proto with bytes that do not decode (500)",
    request("connect", "h1", "GET", `${CRON}/GetJob?encoding=proto&base64=1&message=____`, {}),
    "invalid_argument",
    "body",
  ],
  [
    "Connect: application/proto that does not decode (500)",
    request("connect", "h1", "POST", `${CRON}/GetJob`, { "content-type": "application/proto" }, Buffer.from([0xff, 0xff])),
    "invalid_argument",
    "body",
  ],
  [
    "Connect: a content-encoding the server does not accept (501)",
    request("connect", "h1", "POST", `${CRON}/GetJob`, { "content-type": "application/json", "content-encoding": "zstd" }, json({ jobId: "x" })),
    "invalid_argument",
    "content-encoding",
  ],
  [
    "Connect: a gzip body cut short (500)",
    request(
      "connect",
      "h1",
      "POST",
      `${CRON}/GetJob`,
      { "content-type": "application/json", "content-encoding": "gzip" },
      gzipSync(json({ jobId: "x".repeat(200) })).subarray(0, 20),
    ),
    "invalid_argument",
    "content-encoding",
  ],
  [
    "gRPC: a message that does not decode (internal)",
    request("grpc", "h2", "POST", `${CRON}/GetJob`, GRPC, frame(0, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))),
    "invalid_argument",
    "body",
  ],
  [
    "gRPC: a grpc-encoding the server does not accept (unimplemented)",
    request("grpc", "h2", "POST", `${CRON}/GetJob`, { ...GRPC, "grpc-encoding": "zstd" }, frame(1, Buffer.from([0x0a, 0x01, 0x78]))),
    "invalid_argument",
    "grpc-encoding",
  ],
  [
    "gRPC: a compressed flag without an encoding (internal)",
    request("grpc", "h2", "POST", `${CRON}/GetJob`, GRPC, frame(1, Buffer.from([0x0a, 0x01, 0x78]))),
    "invalid_argument",
    "grpc-encoding",
  ],
  ["gRPC-Web: no message for a unary RPC (unimplemented)", request("grpc-web", "h1", "POST", `${CRON}/GetJob`, GRPC_WEB), "invalid_argument", "body"],
  [
    "gRPC-Web: a request frame flagged as trailers (unimplemented)",
    request("grpc-web", "h1", "POST", `${CRON}/GetJob`, GRPC_WEB, frame(0x80, Buffer.from([0x0a, 0x01, 0x78]))),
    "invalid_argument",
    "body",
  ],
  [
    "gRPC: an unknown key of 100,000 characters (an error header too large to send)",
    request(
      "grpc",
      "h2",
      "POST",
      `${CRON}/CreateJob`,
      { ...GRPC, "content-type": "application/grpc+json" },
      frame(0, json({ job: { ...job, ["x".repeat(100_000)]: 1 } })),
    ),
    "invalid_argument",
    undefined,
  ],
];

describe.each<StoreKind>(["sqlite", "mongo"])("requests the malformed-request suite found, on %s", (kind) => {
  let t: TestNode;
  let wire: WireClient;
  let jobId: string;
  beforeAll(async () => {
    t = await startTestNode(kind);
    wire = createWireClient(t.baseUrl);
    jobId = (await rest(t.baseUrl, "POST", JOBS, job)).body.job_id as string;
  });
  afterAll(async () => {
    await wire?.close();
    await t?.stop();
  });

  it.each(CASES)("%s", async (_name, c, code, field) => {
    const answer = errorOf(c, await wire.send(c.request));
    expect(answer.code).toBe(code);
    if (field !== undefined) expect(answer.field).toBe(field);
    expect(answer.message.length).toBeLessThan(1100);
  });

  it("refuses a value nested 10,000 deep where a string belongs, naming the field (500: the error message overflowed the stack)", async () => {
    const deep = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
    const res = await wire.send({
      transport: "h1",
      method: "POST",
      path: `${JOBS}/${jobId}/trigger`,
      headers: { "content-type": "application/json" },
      body: Buffer.from(`{"jobId":${deep}}`),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "invalid_argument", field: "jobId" });
  });

  it("refuses JSON that is not UTF-8 instead of storing U+FFFD in its place", async () => {
    const body = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","schedule":"0 8 * * *","handler":"h"}')]);
    const restAnswer = await wire.send({ transport: "h1", method: "POST", path: JOBS, headers: { "content-type": "application/json" }, body });
    expect(restAnswer.status).toBe(400);
    expect(JSON.parse(restAnswer.body.toString())).toMatchObject({ field: "body", message: "body: not valid UTF-8" });
    const rpc = request(
      "connect",
      "h1",
      "POST",
      `${CRON}/CreateJob`,
      { "content-type": "application/json" },
      Buffer.concat([Buffer.from('{"job":'), body, Buffer.from("}")]),
    );
    expect(errorOf(rpc, await wire.send(rpc.request))).toMatchObject({ code: "invalid_argument", field: "body" });
  });

  it("refuses a 10 MB body early on every protocol, without reading it all", async () => {
    const huge = Buffer.alloc(HUGE, 0x20);
    const head = `POST ${JOBS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`;
    for (const framing of [`Content-Length: ${HUGE}\r\n`, "Transfer-Encoding: chunked\r\n"]) {
      const body = framing.startsWith("Content") ? huge : Buffer.concat([Buffer.from(`${HUGE.toString(16)}\r\n`), huge, Buffer.from("\r\n0\r\n\r\n")]);
      const res = await wire.send({ transport: "raw", method: "", path: "", headers: {}, body: new Uint8Array(), raw: rawHttp(head + framing, body) });
      expect(res.status, framing).toBe(413);
      expect(JSON.parse(res.body.toString()), framing).toMatchObject({ code: "resource_exhausted", field: "body" });
      expect(res.written, `${framing}: answered before the body was sent`).toBeLessThan(HUGE / 2);
    }
    const rpcs: FuzzCase[] = [
      request("connect", "h1", "POST", `${CRON}/CreateJob`, { "content-type": "application/json" }, huge),
      request("grpc", "h2", "POST", `${CRON}/CreateJob`, GRPC, frame(0, huge)),
      request("grpc-web", "h1", "POST", `${CRON}/CreateJob`, GRPC_WEB, frame(0, huge)),
    ];
    for (const c of rpcs) expect(errorOf(c, await wire.send(c.request)).code, c.protocol).toBe("resource_exhausted");
  });

  it("answers gRPC over HTTP/2 without waiting for the peer's delayed ACK (each call took 40 ms more)", async () => {
    const session = http2.connect(t.baseUrl);
    const call = () =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        const stream = session.request({ ":method": "POST", ":path": `${CRON}/GetJob`, ...GRPC });
        stream
          .on("trailers", () => resolve(performance.now() - started))
          .on("error", reject)
          .resume();
        stream.end(frame(0, Buffer.from([0x0a, 0x01, 0x78])));
      });
    try {
      await call();
      const times: number[] = [];
      for (let i = 0; i < 20; i++) times.push(await call());
      // Linux delays an ACK by at least 40 ms, and with Nagle on every call waited for one; the
      // fastest call, not a typical one, so that a busy machine does not fail the test.
      expect(Math.min(...times)).toBeLessThan(30);
    } finally {
      session.close();
    }
  });
});
