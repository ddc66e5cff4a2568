/**
 * Every span name and span attribute name cronmesh writes. Standard names follow the OpenTelemetry
 * semantic conventions (RPC, HTTP, URL); cronmesh's own live under `cronmesh.`. Nothing else in the
 * code spells an attribute name.
 */
export const ATTR = {
  // RPC server spans (semantic conventions for RPC).
  rpcSystem: "rpc.system",
  rpcService: "rpc.service",
  rpcMethod: "rpc.method",
  /** Numeric gRPC status code, on spans whose `rpc.system` is `grpc`. */
  rpcGrpcStatusCode: "rpc.grpc.status_code",
  /** Connect error code (`not_found`, …), on failed spans whose `rpc.system` is `connect_rpc`. */
  rpcConnectErrorCode: "rpc.connect_rpc.error_code",
  // HTTP (REST routes on the server, attempts on the client).
  httpRoute: "http.route",
  httpRequestMethod: "http.request.method",
  httpResponseStatusCode: "http.response.status_code",
  /** Retries before this request: attempt number − 1. */
  httpResendCount: "http.request.resend_count",
  urlFull: "url.full",
  serverAddress: "server.address",
  serverPort: "server.port",
  errorType: "error.type",
  // cronmesh.
  jobId: "cronmesh.job.id",
  runId: "cronmesh.run.id",
  runTrigger: "cronmesh.run.trigger",
  runStatus: "cronmesh.run.status",
  /** The nominal slot (scheduled_at), RFC 3339. */
  slot: "cronmesh.slot",
  /** When the slot was due: the slot plus its jitter, RFC 3339. */
  dueAt: "cronmesh.due_at",
  /** Fire time minus due time, in milliseconds (0 when staged ahead). */
  latenessMs: "cronmesh.lateness_ms",
  /** Due time minus fire time, in milliseconds, for a slot staged ahead (its run waits for the due time). */
  stagedAheadMs: "cronmesh.staged_ahead_ms",
  nodeId: "cronmesh.node.id",
  /** False when the concurrency policy (forbid) skipped the slot: another run held the job. */
  lockAcquired: "cronmesh.lock.acquired",
  /** queued, skipped or adopted (the slot had already fired). */
  fireOutcome: "cronmesh.fire.outcome",
  attempt: "cronmesh.attempt",
} as const;

/** Span names: low-cardinality, the ids are attributes. */
export const SPAN = {
  fire: "cronmesh.fire",
  run: "cronmesh.run",
} as const;

/** Resource attribute names (the service as a whole). */
export const RESOURCE_ATTR = {
  serviceName: "service.name",
  serviceVersion: "service.version",
  serviceInstanceId: "service.instance.id",
} as const;
