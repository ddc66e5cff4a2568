import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetJobRequestSchema, GetJobResponseSchema, ListJobsRequestSchema, ListJobsResponseSchema } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { rest, startTestNode, type StoreKind, type TestNode } from "../harness/node.js";

const CRON = "/cronmesh.v1.CronService";

/** What a gRPC call answered, as it came over the wire. */
interface Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One gRPC call on `session`: the request framed by hand, the answer read raw until its trailers
 * (a refused request may be answered before the server has read all of it).
 */
function call(session: http2.ClientHttp2Session, path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    const chunks: Buffer[] = [];
    let answer: Omit<Answer, "body"> = { headers: {}, trailers: {} };
    stream.on("response", (h) => (answer = { ...answer, headers: h }));
    const done = () => {
      resolve({ ...answer, body: Buffer.concat(chunks) });
      stream.close();
    };
    stream.on("trailers", (t) => {
      answer = { ...answer, trailers: t };
      done();
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", reject);
    stream.on("close", done);
    stream.end(body);
  });
}

function frame<Desc extends DescMessage>(desc: Desc, init: Parameters<typeof create<Desc>>[1]): Buffer {
  const data = toBinary(desc, create(desc, init));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.byteLength, 1);
  return Buffer.concat([head, data]);
}

/** The one message of an answer's body: its flags and its (decompressed) bytes. */
function unframe(body: Buffer): { flags: number; data: Buffer } {
  expect(body.byteLength).toBeGreaterThanOrEqual(5);
  expect(body.readUInt32BE(1)).toBe(body.byteLength - 5);
  const flags = body[0]!;
  const data = body.subarray(5);
  return { flags, data: flags === 1 ? gunzipSync(data) : data };
}

/**
 * A connection whose first bytes arrive one at a time, in separate segments: the server must
 * read the HTTP/2 preface across reads before it hands the connection on.
 */
function trickling(port: number): Duplex {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  let first = true;
  const wrapper = new Duplex({
    read: () => void socket.resume(),
    write(chunk: Buffer, _encoding, cb) {
      if (!first) return void socket.write(chunk, cb);
      first = false;
      void (async () => {
        for (const byte of chunk.subarray(0, 3)) {
          socket.write(Buffer.from([byte]));
          await sleep(20);
        }
        socket.write(chunk.subarray(3), cb);
      })();
    },
    final: (cb) => void socket.end(cb),
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    if (!wrapper.push(chunk)) socket.pause();
  });
  socket.on("end", () => wrapper.push(null));
  return wrapper;
}

describe.each<StoreKind>(["sqlite", "mongo"])("gRPC unary calls on the wire (%s)", (kind) => {
  let t: TestNode;
  let session: http2.ClientHttp2Session;
  let jobId: string;
  beforeAll(async () => {
    t = await startTestNode(kind);
    session = http2.connect(t.baseUrl);
    // Enough jobs that a page of them is over the 1 KiB from which answers are compressed.
    for (let i = 0; i < 12; i++) {
      const res = await rest(t.baseUrl, "POST", "/api/v1/cron/jobs", { name: `wire ${i}`, schedule: "0 0 3 * * *", target: { url: "http://127.0.0.1:9/x" } });
      expect(res.status).toBeLessThan(300);
      jobId = res.body.job_id as string;
    }
  });
  afterAll(async () => {
    session?.close();
    await t?.stop();
  });

  it("answers with one message, content type application/grpc+proto, and grpc-status 0 in the trailers", async () => {
    const answer = await call(session, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId }));
    expect(answer.headers[":status"]).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/grpc+proto");
    expect(answer.headers["grpc-encoding"]).toBeUndefined();
    expect(answer.trailers["grpc-status"]).toBe("0");
    const { flags, data } = unframe(answer.body);
    expect(flags).toBe(0);
    expect(fromBinary(GetJobResponseSchema, data).job?.jobId).toBe(jobId);
  });

  it("names gzip when the caller accepts it, and compresses an answer from 1 KiB on only", async () => {
    const headers = { "grpc-accept-encoding": "gzip" };
    const small = await call(session, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId }), headers);
    expect(small.headers["grpc-encoding"]).toBe("gzip");
    expect(unframe(small.body).flags).toBe(0);
    const page = await call(session, `${CRON}/ListJobs`, frame(ListJobsRequestSchema, { limit: 12 }), headers);
    expect(page.headers["grpc-encoding"]).toBe("gzip");
    expect(page.trailers["grpc-status"]).toBe("0");
    const { flags, data } = unframe(page.body);
    expect(flags).toBe(1);
    expect(data.byteLength).toBeGreaterThanOrEqual(1024);
    expect(fromBinary(ListJobsResponseSchema, data).data).toHaveLength(12);
  });

  it("answers a failure with its status and message in the trailers and no message", async () => {
    const answer = await call(session, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId: "no-such-job" }));
    expect(answer.headers[":status"]).toBe(200);
    expect(answer.trailers["grpc-status"]).toBe("5");
    expect(decodeURIComponent(String(answer.trailers["grpc-message"]))).toMatch(/no-such-job/);
    expect(answer.body.byteLength).toBe(0);
  });

  it("serves a call with a deadline, and refuses a malformed grpc-timeout as InvalidArgument", async () => {
    const timed = await call(session, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId }), { "grpc-timeout": "5S" });
    expect(timed.trailers["grpc-status"]).toBe("0");
    const bad = await call(session, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId }), { "grpc-timeout": "1x" });
    expect(bad.trailers["grpc-status"] ?? bad.headers["grpc-status"]).toBe("3");
  });

  it("refuses a request over 1 MiB as ResourceExhausted, and two messages for a unary call as InvalidArgument", async () => {
    const huge = await call(session, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId: "x".repeat(2 * 1024 * 1024) }));
    expect(huge.trailers["grpc-status"] ?? huge.headers["grpc-status"]).toBe("8");
    const one = frame(GetJobRequestSchema, { jobId });
    const two = await call(session, `${CRON}/GetJob`, Buffer.concat([one, one]));
    expect(two.trailers["grpc-status"] ?? two.headers["grpc-status"]).toBe("3");
  });

  it("serves HTTP/2 on a connection whose preface arrives one byte at a time, and HTTP/1.1 on the same port", async () => {
    const slow = http2.connect(t.baseUrl, { createConnection: () => trickling(t.port) });
    try {
      const answer = await call(slow, `${CRON}/GetJob`, frame(GetJobRequestSchema, { jobId }));
      expect(answer.trailers["grpc-status"]).toBe("0");
      expect(fromBinary(GetJobResponseSchema, unframe(answer.body).data).job?.jobId).toBe(jobId);
    } finally {
      slow.close();
    }
    expect((await rest(t.baseUrl, "GET", `/api/v1/cron/jobs/${jobId}`)).status).toBe(200);
  });
});
