import { createRegistry, toBinary, type DescFile, type DescMessage, type DescService, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The descriptors reflection answers from, indexed once. */
interface ReflectionIndex {
  services: string[];
  /** Every file a served service needs, by file name (`cronmesh/v1/job.proto`). */
  files: Map<string, DescFile>;
  registry: Registry;
}

/** What a reflection request asks: the same shape in v1 and v1alpha. */
type MessageRequest = v1.ServerReflectionRequest["messageRequest"] | v1alpha.ServerReflectionRequest["messageRequest"];

/** The answer part of a reflection response, as plain data that fits v1 and v1alpha alike. */
type MessageResponse =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Indexes the files of the served services and everything they import. */
function indexOf(services: readonly DescService[]): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const add = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    file.dependencies.forEach(add);
  };
  services.forEach((service) => add(service.file));
  return { services: services.map((s) => s.typeName), files, registry: createRegistry(...files.values()) };
}

/**
 * A file and, after it, every file it imports that this stream has not sent yet (the first file
 * always goes): clients resolve imports from what they received, as in grpc-go's server.
 */
function withImports(file: DescFile, sent: Set<string>): MessageResponse {
  const out: Uint8Array[] = [];
  const visit = (f: DescFile, first: boolean) => {
    if (!first && sent.has(f.proto.name)) return;
    sent.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach((d) => visit(d, false));
  };
  visit(file, true);
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
}

function notFound(what: string): MessageResponse {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

/**
 * The file declaring a fully-qualified symbol: a message, enum, service or extension, or a member
 * of one (a method, a field, a oneof, an enum value), found through its parent.
 */
function fileOfSymbol(index: ReflectionIndex, symbol: string): DescFile | undefined {
  const desc = index.registry.get(symbol);
  if (desc) return desc.file;
  const dot = symbol.lastIndexOf(".");
  const parent = dot > 0 ? index.registry.get(symbol.slice(0, dot)) : undefined;
  const member = symbol.slice(dot + 1);
  const has = (names: { name: string }[] | undefined) => names?.some((n) => n.name === member) ?? false;
  switch (parent?.kind) {
    case "service":
      return has(parent.methods) ? parent.file : undefined;
    case "message":
      return has(parent.fields) || has(parent.oneofs) ? parent.file : undefined;
    case "enum":
      return has(parent.values) ? parent.file : undefined;
    default:
      return undefined;
  }
}

/** The extensions of a message known to the index. */
function extensionsOf(index: ReflectionIndex, message: DescMessage): number[] {
  const numbers: number[] = [];
  for (const desc of index.registry) if (desc.kind === "extension" && desc.extendee.typeName === message.typeName) numbers.push(desc.number);
  return numbers.sort((a, b) => a - b);
}

/** Answers one reflection request; `sent` holds the files this stream has sent already. */
function answer(index: ReflectionIndex, request: MessageRequest, sent: Set<string>): MessageResponse {
  switch (request.case) {
    case "fileByFilename": {
      const file = index.files.get(request.value);
      return file ? withImports(file, sent) : notFound(`file ${JSON.stringify(request.value)}`);
    }
    case "fileContainingSymbol": {
      const file = fileOfSymbol(index, request.value);
      return file ? withImports(file, sent) : notFound(`symbol ${JSON.stringify(request.value)}`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value;
      const message = index.registry.getMessage(containingType);
      const extension = message && index.registry.getExtensionFor(message, extensionNumber);
      return extension ? withImports(extension.file, sent) : notFound(`extension ${extensionNumber} of ${JSON.stringify(containingType)}`);
    }
    case "allExtensionNumbersOfType": {
      const message = index.registry.getMessage(request.value);
      if (!message) return notFound(`type ${JSON.stringify(request.value)}`);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: message.typeName, extensionNumber: extensionsOf(index, message) } };
    }
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    default:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
  }
}

/** Answers a stream of requests in order; each stream tracks the files it has sent. */
async function* serve<R extends { host: string; messageRequest: MessageRequest }>(index: ReflectionIndex, requests: AsyncIterable<R>) {
  const sent = new Set<string>();
  for await (const request of requests) {
    yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, request.messageRequest, sent) };
  }
}

/**
 * Creates gRPC server reflection, `grpc.reflection.v1` and its predecessor `v1alpha` (same
 * messages, still the one some clients ask for), describing `services` (the reflection services
 * themselves included, if listed) from the descriptors embedded in the generated code, so
 * `grpcurl` and `buf curl --reflect` need no proto files.
 */
export function createReflectionServices(services: readonly DescService[]): {
  v1: ServiceImpl<typeof v1.ServerReflection>;
  v1alpha: ServiceImpl<typeof v1alpha.ServerReflection>;
} {
  const index = indexOf(services);
  return {
    v1: { serverReflectionInfo: (requests) => serve(index, requests) },
    v1alpha: { serverReflectionInfo: (requests) => serve(index, requests) },
  };
}
