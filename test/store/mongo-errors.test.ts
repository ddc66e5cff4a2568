import { MongoNetworkError, MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import { CronError } from "../../src/domain/cron-error.js";
import { toCronError } from "../../src/store/mongo/mongo-errors.js";

/** A Node socket error as the driver sometimes lets it through, unwrapped. */
const socketError = (code: string) => Object.assign(new Error(`socket failed (${code})`), { code });

describe("toCronError: driver errors to CronError codes", () => {
  it.each([
    { name: "a plain EPIPE from a pooled connection whose server died is unavailable", err: socketError("EPIPE"), code: "unavailable" },
    { name: "a plain ECONNRESET is unavailable", err: socketError("ECONNRESET"), code: "unavailable" },
    { name: "a plain ECONNREFUSED is unavailable", err: socketError("ECONNREFUSED"), code: "unavailable" },
    { name: "a network error is unavailable", err: new MongoNetworkError("connect ECONNREFUSED"), code: "unavailable" },
    { name: "a server that is shutting down (code 91) is unavailable", err: new MongoServerError({ code: 91, errmsg: "shutting down" }), code: "unavailable" },
    { name: "a duplicate key is already_exists", err: new MongoServerError({ code: 11000, errmsg: "dup" }), code: "already_exists" },
    { name: "an unknown server error is internal", err: new MongoServerError({ code: 2, errmsg: "bad value" }), code: "internal" },
    { name: "a plain error without a socket code is internal", err: new Error("boom"), code: "internal" },
    { name: "a plain error with another system code is internal", err: socketError("ENOENT"), code: "internal" },
  ])("$name", ({ err, code }) => {
    expect(toCronError(err).code).toBe(code);
  });

  it("passes a CronError through unchanged", () => {
    const err = new CronError("not_found", "gone");
    expect(toCronError(err)).toBe(err);
  });
});
