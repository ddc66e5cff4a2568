import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import { outboundDenied, type OutboundPolicy } from "../domain/outbound-policy.js";

/** The error of a request the outbound policy refused: the attempt fails at once and is not retried. */
export class OutboundDenied extends Error {
  override readonly name = "OutboundDenied";
  readonly code = "ERR_OUTBOUND_DENIED";

  /** `address` is what was refused; `resolvedFrom` the name it came from, when it was resolved. */
  constructor(address: string, resolvedFrom?: string) {
    super(resolvedFrom ? `${outboundDenied(address)} (resolved from ${resolvedFrom})` : outboundDenied(address));
  }
}

/**
 * A resolver that hands the socket only addresses the policy allows: the check runs on the
 * addresses a connection is really opened to, so a name that resolves (or is re-bound) into a
 * denied range is refused. Of several addresses, the denied ones are dropped; none left fails
 * the connection with {@link OutboundDenied}. `resolve` defaults to `dns.lookup`.
 * Node does not call a lookup for IP literals: those are checked before a request is sent.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: LookupFunction = dnsLookup as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (err, address, family) => {
      if (err) return callback(err, address, family);
      if (typeof address === "string") {
        if (policy.addressDenied(hostname, address)) return callback(new OutboundDenied(address, hostname), "", family);
        return callback(null, address, family);
      }
      const allowed = address.filter((a: LookupAddress) => !policy.addressDenied(hostname, a.address));
      if (allowed.length === 0 && address.length > 0) return callback(new OutboundDenied(address[0]!.address, hostname), []);
      callback(null, allowed);
    });
  };
}
