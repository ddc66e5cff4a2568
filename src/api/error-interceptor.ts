import type { Interceptor } from "@connectrpc/connect";
import { toConnectError } from "./error-codes.js";

/**
 * Turns every error thrown by a handler into a ConnectError with the right code, so CronError is
 * mapped in exactly one place. Internal errors lose their message (it may hold driver details).
 */
export const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    throw toConnectError(err);
  }
};
