/** Header carrying an API key (also accepted as `Authorization: ApiKey <key>` or `Bearer <key>`). */
export const API_KEY_HEADER = "x-api-key";
/** The standard credentials header. */
export const AUTHORIZATION_HEADER = "authorization";

/** The credentials a request presents, as read from its headers; nothing is verified here. */
export interface PresentedCredentials {
  /** `Authorization: Bearer <token>`. */
  bearer?: string;
  /** `x-api-key: <key>` or `Authorization: ApiKey <key>`. */
  apiKey?: string;
  /** `Authorization: Basic <base64(user:password)>`, decoded. */
  basic?: { username: string; password: string };
}

/**
 * Reads the credentials of a request's headers. Authorization schemes are case-insensitive
 * (RFC 9110); a malformed value is simply absent, so the caller answers "no credentials".
 */
export function presentedCredentials(headers: Headers): PresentedCredentials {
  const out: PresentedCredentials = {};
  const apiKey = headers.get(API_KEY_HEADER)?.trim();
  if (apiKey) out.apiKey = apiKey;
  const authorization = headers.get(AUTHORIZATION_HEADER)?.trim() ?? "";
  const m = /^([A-Za-z]+)\s+(\S+)$/.exec(authorization);
  if (!m) return out;
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === "bearer") out.bearer = value;
  if (scheme === "apikey") out.apiKey ??= value;
  if (scheme === "basic") {
    const basic = decodeBasic(value);
    if (basic) out.basic = basic;
  }
  return out;
}

/** `user:password` from base64; undefined when it is not base64 or has no colon. */
function decodeBasic(value: string): { username: string; password: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const text = Buffer.from(value, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
