import { create, isMessage, type DescMessage, type DescMethodUnary, type MessageShape } from "@bufbuild/protobuf";
import {
  createContextValues,
  createServiceImplSpec,
  type ConnectRouter,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

/** One call of a unary RPC, as a protocol adapter hands it over: the decoded message and the request's metadata. */
export interface UnaryCall {
  message: MessageShape<DescMessage>;
  /** Request headers, as the interceptors and the handler see them. */
  header: Headers;
  url: string;
  /** The HTTP method of the request. */
  requestMethod: string;
  /** "connect", or "rest" for the REST transcoder. */
  protocolName: string;
  /**
   * The call's abort signal, made on first use only (unary handlers seldom read it, and an
   * AbortController per call is a measurable share of a small call's cost). Absent: the call is
   * never aborted.
   */
  signal?: () => AbortSignal;
  /** The time left until the call's deadline (ms); absent: the call has none. */
  timeoutMs?: () => number | undefined;
  /** Where the handler's response headers and trailers go (new ones when absent). */
  responseHeader?: Headers;
  responseTrailer?: Headers;
}

/** Runs one unary RPC through the interceptors and its handler; rejects with what they throw. */
export type UnaryInvoker = (call: UnaryCall) => Promise<UnaryResponse>;

/** One unary RPC: its method and how to run it. */
export interface UnaryTarget {
  method: DescMethodUnary;
  invoke: UnaryInvoker;
}

/** The unary RPCs of a set of routes, by request path (`/package.Service/Method`). */
export type UnaryInvokers = Map<string, UnaryTarget>;

/** The time left of a call without a deadline. */
const noDeadline = () => undefined;

/** A signal that never aborts, for calls made without one. */
const NEVER = new AbortController().signal;

/**
 * Builds an invoker per unary method registered by `routes`, each with the interceptors applied
 * once (as connect applies them, outermost first). A call through an invoker is what a connect
 * router does for a unary call between decoding the request and encoding the response, without
 * the per-call handler context: no deadline timer, no linked abort controllers aborted (with an
 * exception created) when the call ends. The handler gets a complete `HandlerContext`.
 */
export function createUnaryInvokers(routes: (router: ConnectRouter) => void, interceptors: Interceptor[]): UnaryInvokers {
  const invokers: UnaryInvokers = new Map();
  const collector = {
    handlers: [],
    service(service, implementation) {
      const spec = createServiceImplSpec(service, implementation);
      for (const m of Object.values(spec.methods)) {
        if (m.kind !== "unary") continue;
        invokers.set(`/${service.typeName}/${m.method.name}`, { method: m.method, invoke: invokerOf(m.method, m.impl, interceptors) });
      }
      return collector;
    },
    rpc() {
      throw new Error("register whole services: routes.ts is the one place where they are registered");
    },
  } as ConnectRouter;
  routes(collector);
  return invokers;
}

type Impl = (message: MessageShape<DescMessage>, ctx: HandlerContext) => unknown;

function invokerOf(method: DescMethodUnary, impl: Impl, interceptors: Interceptor[]): UnaryInvoker {
  const innermost = async (req: UnaryRequest | { stream: true }): Promise<UnaryResponse> => {
    const r = req as UnaryRequest & CallState;
    const output = await impl(r.message, handlerContext(r));
    const message = isMessage(output, method.output) ? output : create(method.output, output as never);
    return { stream: false, service: method.parent, method, message, header: r.state.responseHeader, trailer: r.state.responseTrailer };
  };
  const next = interceptors.reduceRight((n, i) => i(n), innermost as Parameters<Interceptor>[0]);
  return async (call) => (await next(requestOf(method, call))) as UnaryResponse;
}

/** The per-call state the handler context is made of, carried on the request object. */
interface CallState {
  state: { call: UnaryCall; responseHeader: Headers; responseTrailer: Headers };
}

function requestOf(method: DescMethodUnary, call: UnaryCall): UnaryRequest & CallState {
  return {
    stream: false,
    service: method.parent,
    method,
    message: call.message,
    requestMethod: call.requestMethod,
    url: call.url,
    header: call.header,
    contextValues: createContextValues(),
    get signal() {
      return call.signal?.() ?? NEVER;
    },
    state: { call, responseHeader: call.responseHeader ?? new Headers(), responseTrailer: call.responseTrailer ?? new Headers() },
  };
}

/** The handler's context: what connect gives a handler, from the request as the interceptors left it. */
function handlerContext(req: UnaryRequest & CallState): HandlerContext {
  const { call, responseHeader, responseTrailer } = req.state;
  return {
    method: req.method,
    service: req.service,
    get signal() {
      return req.signal;
    },
    timeoutMs: call.timeoutMs ?? noDeadline,
    requestMethod: call.requestMethod,
    requestHeader: req.header,
    responseHeader,
    responseTrailer,
    protocolName: call.protocolName,
    values: req.contextValues as ContextValues,
    url: call.url,
  };
}
