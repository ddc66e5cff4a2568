import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CronService } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../../gen/cronmesh/v1/run_service_pb.js";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionAlpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { startTestNode, type TestNode } from "../harness/node.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUF = `${ROOT}node_modules/.bin/buf`;
/** google.api.http: the extension number of the REST annotations on MethodOptions. */
const HTTP_EXTENSION = 72295728;

/** Runs `buf curl` with reflection only (no --schema): stdout, or the failure's output. */
async function bufCurl(args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    // The working directory has no buf.yaml, so nothing but the server's answers can describe the API.
    const { stdout } = await run(BUF, ["curl", "--http2-prior-knowledge", ...args], { cwd: "/", timeout: 60_000 });
    return { ok: true, out: stdout };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** Every method of a generated service, as `buf curl --list-methods` prints it. */
const methodsOf = (service: typeof CronService | typeof RunService) => service.methods.map((m) => `${service.typeName}/${m.name}`);

/** A v1 reflection request as plain data. */
type ReflectionRequest = MessageInitShape<typeof ServerReflectionRequestSchema>;

/** Sends reflection requests on one v1 stream and collects the answers. */
async function reflect(baseUrl: string, requests: ReflectionRequest[]) {
  const client = createClient(ServerReflection, createGrpcTransport({ baseUrl }));
  async function* outgoing() {
    for (const r of requests) yield r;
  }
  const answers: ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(outgoing())) answers.push(res);
  return answers;
}

/** The file names of a file-descriptor answer, in order. */
function fileNames(res: ServerReflectionResponse): string[] {
  if (res.messageResponse.case !== "fileDescriptorResponse") throw new Error(`not a file answer: ${res.messageResponse.case}`);
  return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe("gRPC server reflection", () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode("sqlite");
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(["grpc-v1", "grpc-v1alpha"])("lets buf curl list every method of both cronmesh services over %s", async (protocol) => {
    const listed = await bufCurl(["--reflect-protocol", protocol, "--list-methods", t.baseUrl]);
    expect(listed.ok).toBe(true);
    const methods = listed.out.trim().split("\n");
    expect(methods).toEqual(expect.arrayContaining([...methodsOf(CronService), ...methodsOf(RunService)]));
    expect(methods).toEqual(expect.arrayContaining(["grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"]));
  });

  it("lists the services: cronmesh, health and both reflection versions", async () => {
    const listed = await bufCurl(["--list-services", t.baseUrl]);
    expect(listed.out.trim().split("\n").sort()).toEqual([
      "cronmesh.v1.CronService",
      "cronmesh.v1.RunService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it.each(["grpc", "connect"])("lets buf curl call methods described only by reflection (%s)", async (protocol) => {
    const job = { name: `reflected-${protocol}`, schedule: "0 8 * * 1-5", timezone: "Europe/Belgrade", target: { url: "http://127.0.0.1:9/hook" } };
    const created = await bufCurl(["--protocol", protocol, "-d", JSON.stringify({ job }), `${t.baseUrl}/cronmesh.v1.CronService/CreateJob`]);
    expect(created.ok).toBe(true);
    const jobId = (JSON.parse(created.out) as { job: { jobId: string } }).job.jobId;
    const got = await bufCurl(["--protocol", protocol, "-d", JSON.stringify({ jobId }), `${t.baseUrl}/cronmesh.v1.CronService/GetJob`]);
    expect(JSON.parse(got.out)).toMatchObject({ job: { jobId, name: job.name, timezone: "Europe/Belgrade", status: "JOB_STATUS_ACTIVE" } });
  });

  it("lets buf curl run a gRPC health Check through reflection: SERVING", async () => {
    const checked = await bufCurl(["--protocol", "grpc", "-d", '{"service":"cronmesh.v1.CronService"}', `${t.baseUrl}/grpc.health.v1.Health/Check`]);
    expect(JSON.parse(checked.out)).toEqual({ status: "SERVING" });
  });

  it("answers a method symbol with its file first, then its imports; a stream sends each import once", async () => {
    const [first, second] = await reflect(t.baseUrl, [
      { host: "h", messageRequest: { case: "fileContainingSymbol", value: "cronmesh.v1.CronService.CreateJob" } },
      { host: "h", messageRequest: { case: "fileContainingSymbol", value: "cronmesh.v1.RunService" } },
    ]);
    const names = fileNames(first!);
    expect(names[0]).toBe("cronmesh/v1/cron_service.proto");
    expect(names).toEqual(expect.arrayContaining(["cronmesh/v1/job.proto", "google/api/annotations.proto", "google/protobuf/descriptor.proto"]));
    expect(new Set(names).size).toBe(names.length);
    const again = fileNames(second!);
    expect(again[0]).toBe("cronmesh/v1/run_service.proto");
    expect(again.filter((n) => names.includes(n))).toEqual([]);
    expect(first!.validHost).toBe("h");
    expect(first!.originalRequest?.messageRequest.value).toBe("cronmesh.v1.CronService.CreateJob");
  });

  it("answers file names, extensions, extension numbers and nested symbols", async () => {
    const answers = await reflect(t.baseUrl, [
      { messageRequest: { case: "fileByFilename", value: "cronmesh/v1/job.proto" } },
      { messageRequest: { case: "fileContainingExtension", value: { containingType: "google.protobuf.MethodOptions", extensionNumber: HTTP_EXTENSION } } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" } },
      { messageRequest: { case: "fileContainingSymbol", value: "cronmesh.v1.Job.schedule" } },
    ] satisfies ReflectionRequest[]);
    const job = answers[0]!.messageResponse;
    expect(job.case).toBe("fileDescriptorResponse");
    expect(fromBinary(FileDescriptorProtoSchema, (job.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto[0]!).package).toBe("cronmesh.v1");
    expect(fileNames(answers[1]!)[0]).toBe("google/api/annotations.proto");
    expect(answers[2]!.messageResponse).toMatchObject({ case: "allExtensionNumbersResponse", value: { baseTypeName: "google.protobuf.MethodOptions" } });
    expect((answers[2]!.messageResponse.value as { extensionNumber: number[] }).extensionNumber).toContain(HTTP_EXTENSION);
    expect(fileNames(answers[3]!)[0]).toBe("health/v1/health.proto");
    expect(fileNames(answers[4]!)[0]).toBe("cronmesh/v1/job.proto");
  });

  it.each<[string, ServerReflectionRequest["messageRequest"] | { case: undefined }]>([
    ["an unknown symbol", { case: "fileContainingSymbol", value: "cronmesh.v1.NoSuchThing" }],
    ["an unknown member of a known service", { case: "fileContainingSymbol", value: "cronmesh.v1.CronService.NoSuchMethod" }],
    ["an unknown file", { case: "fileByFilename", value: "nope.proto" }],
    [
      "an unknown extension number",
      {
        case: "fileContainingExtension",
        value: { $typeName: "grpc.reflection.v1.ExtensionRequest", containingType: "google.protobuf.MethodOptions", extensionNumber: 1 },
      },
    ],
    ["extension numbers of an unknown type", { case: "allExtensionNumbersOfType", value: "nope.Message" }],
  ])("answers %s with NOT_FOUND, and the stream goes on", async (_name, messageRequest) => {
    const [error, services] = await reflect(t.baseUrl, [{ messageRequest }, { messageRequest: { case: "listServices", value: "" } }]);
    expect(error!.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
    expect(services!.messageResponse.case).toBe("listServicesResponse");
  });

  it("answers v1alpha clients with the same descriptors", async () => {
    const client = createClient(ServerReflectionAlpha, createGrpcTransport({ baseUrl: t.baseUrl }));
    async function* outgoing() {
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "cronmesh.v1.RunService" } };
    }
    const answers = [];
    for await (const res of client.serverReflectionInfo(outgoing())) answers.push(res);
    expect(answers).toHaveLength(1);
    const value = answers[0]!.messageResponse;
    expect(value.case).toBe("fileDescriptorResponse");
    expect(fromBinary(FileDescriptorProtoSchema, (value.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto[0]!).name).toBe(
      "cronmesh/v1/run_service.proto",
    );
  });
});
