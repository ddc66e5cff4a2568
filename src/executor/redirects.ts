import type { OutgoingRequest } from "./outgoing-request.js";

/** Most redirects one attempt follows; the answer after the last is the attempt's answer. */
export const MAX_REDIRECTS = 5;

/**
 * The statuses followed. 300 (a choice among representations) and 304/305 are not moves of the
 * resource, so they stay the attempt's answer.
 */
const FOLLOWED = new Set([301, 302, 303, 307, 308]);

/**
 * The request of the next hop after a 3xx answer, or undefined when the answer is not a redirect
 * to follow (another status, no Location, or one that is not an http(s) URL). Pure.
 * - 303 continues as GET without a body (a HEAD stays HEAD); so do 301 and 302 after a POST, as
 *   every HTTP client does; 307 and 308 keep the method and the body.
 * - A relative Location is resolved against the current URL.
 * - A hop to another origin (scheme, host or port) leaves behind `Host` and the request's
 *   credential headers; once dropped they are not sent again, even back on the first origin.
 * Neither the hop count nor the outbound policy is checked here: the caller does both.
 */
export function nextHop(req: OutgoingRequest, statusCode: number, location: string | string[] | undefined): OutgoingRequest | undefined {
  if (!FOLLOWED.has(statusCode) || typeof location !== "string") return undefined;
  let url: URL;
  try {
    url = new URL(location, req.url);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  const asGet = statusCode === 303 ? req.method !== "HEAD" : (statusCode === 301 || statusCode === 302) && req.method === "POST";
  let headers = req.headers;
  if (asGet) headers = without(headers, (name) => name.startsWith("content-"));
  if (url.origin !== new URL(req.url).origin) {
    const credentials = new Set(req.credentialHeaders);
    headers = without(headers, (name) => name === "host" || credentials.has(name));
  }
  return { ...req, url: url.href, method: asGet ? "GET" : req.method, headers, body: asGet ? undefined : req.body };
}

/** The headers but those whose (lower-case) name matches. */
function without(headers: Record<string, string>, drop: (name: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop(name.toLowerCase())));
}
