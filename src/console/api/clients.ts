import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CronService } from "../../../gen/cronmesh/v1/cron_service_pb.js";
import { RunService } from "../../../gen/cronmesh/v1/run_service_pb.js";
import { authorizationFor, type Credentials } from "./credentials.js";

/** The typed clients of the two services: the page's only way to the API. */
export interface Api {
  cron: Client<typeof CronService>;
  runs: Client<typeof RunService>;
}

/**
 * Adds the stored credential to every call and reports an Unauthenticated answer, so that the
 * page can ask for a token; the error still reaches the caller.
 */
export function credentialsInterceptor(credentials: Credentials): Interceptor {
  return (next) => async (req) => {
    const token = credentials.get();
    if (token) req.header.set("Authorization", authorizationFor(token));
    try {
      return await next(req);
    } catch (err) {
      if (ConnectError.from(err).code === Code.Unauthenticated) credentials.demand();
      throw err;
    }
  };
}

/**
 * Connect clients over fetch, JSON encoded (readable in the browser's network panel). Unknown
 * fields are ignored so that a newer server does not break an older page.
 */
export function createApi(baseUrl: string, credentials: Credentials): Api {
  const transport = createConnectTransport({
    baseUrl,
    interceptors: [credentialsInterceptor(credentials)],
    jsonOptions: { ignoreUnknownFields: true },
  });
  return { cron: createClient(CronService, transport), runs: createClient(RunService, transport) };
}
