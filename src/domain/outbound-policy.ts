/**
 * Which addresses targets may be called at: the outbound (SSRF) policy.
 *
 * A rule is an IP range (`169.254.0.0/16`, `fe80::/10`, or one address) or a host name pattern
 * (`metadata.google.internal`, or `*.internal` for every name under `internal`). The deny list is
 * {@link DEFAULT_OUTBOUND_DENY} plus `OUTBOUND_DENY`; `OUTBOUND_ALLOW` makes exceptions to it, and
 * an exception always wins. Loopback and private ranges are not denied by default: internal
 * services are what cron jobs call.
 *
 * Two checks, both pure: {@link OutboundPolicy.hostDenied} on the host of a URL as written (a
 * name or an IP literal), before a request is sent or a job is stored; and
 * {@link OutboundPolicy.addressDenied} on every address a name resolves to, when connecting, so a
 * name that resolves into a denied range (DNS rebinding) is refused too.
 */
import { BlockList, isIP } from "node:net";

/** One entry of an outbound list. */
export type OutboundRule =
  | { kind: "range"; address: string; prefix: number; family: "ipv4" | "ipv6" }
  /** A lower-case name without a trailing dot; `*.x` matches every name under `x` (not `x` itself). */
  | { kind: "host"; pattern: string };

/** The parsed lists of the policy (the defaults are added by {@link createOutboundPolicy}). */
export interface OutboundRules {
  deny: OutboundRule[];
  allow: OutboundRule[];
}

/**
 * Denied unless allowed: link-local ranges (where cloud metadata services answer, e.g.
 * 169.254.169.254), the metadata addresses outside them (Alibaba 100.100.100.200, AWS IPv6
 * fd00:ec2::254), the names that resolve to them, and "this network" (0.0.0.0/8, ::), which the
 * kernel takes for the local host.
 */
export const DEFAULT_OUTBOUND_DENY: readonly string[] = [
  "169.254.0.0/16",
  "fe80::/10",
  "100.100.100.200",
  "fd00:ec2::254",
  "0.0.0.0/8",
  "::",
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
];

/** The outbound policy: pure decisions over parsed rules. */
export interface OutboundPolicy {
  /**
   * Whether a URL host (as `URL.hostname` gives it: a name, an IPv4 literal, or an IPv6 literal
   * in brackets) is denied before any name is resolved: an IP literal by the ranges, a name by
   * the name patterns.
   */
  hostDenied(host: string): boolean;
  /**
   * Whether a connection to `address`, resolved from the name `host`, is denied: the address is
   * in a denied range and neither it nor the name is allowed (an allowed name is trusted with
   * whatever it resolves to).
   */
  addressDenied(host: string, address: string): boolean;
}

/** The refusal every check reports, naming the address (or name) refused. */
export function outboundDenied(address: string): string {
  return `outbound policy: ${address} denied`;
}

/** Parses one rule; throws an Error whose message says what is wrong with it. */
export function parseOutboundRule(text: string): OutboundRule {
  const raw = text.trim().toLowerCase();
  const slash = raw.indexOf("/");
  const address = unbracket(slash < 0 ? raw : raw.slice(0, slash));
  const family = isIP(address);
  if (family !== 0) {
    const max = family === 4 ? 32 : 128;
    const prefix = slash < 0 ? max : Number(raw.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && raw.slice(slash + 1) === "")) {
      throw new Error(`invalid prefix length in ${JSON.stringify(text)} (0-${max})`);
    }
    return { kind: "range", address, prefix, family: family === 4 ? "ipv4" : "ipv6" };
  }
  const name = stripDot(raw);
  if (slash >= 0 || !HOST_PATTERN.test(name)) throw new Error(`${JSON.stringify(text)} is neither an IP range (CIDR) nor a host name pattern`);
  return { kind: "host", pattern: name };
}

/** Parses a comma-separated list of rules (empty entries ignored). */
export function parseOutboundList(list: string): OutboundRule[] {
  return list
    .split(",")
    .filter((entry) => entry.trim() !== "")
    .map(parseOutboundRule);
}

/** The policy of the given lists, {@link DEFAULT_OUTBOUND_DENY} included. */
export function createOutboundPolicy(rules: OutboundRules = { deny: [], allow: [] }): OutboundPolicy {
  const deny = compile([...DEFAULT_OUTBOUND_DENY.map(parseOutboundRule), ...rules.deny]);
  const allow = compile(rules.allow);
  const addressDenied = (address: string) => !allow.hasAddress(address) && deny.hasAddress(address);
  return {
    hostDenied(host) {
      const name = stripDot(unbracket(host.toLowerCase()));
      if (isIP(name) !== 0) return addressDenied(name);
      return !allow.hasName(name) && deny.hasName(name);
    },
    addressDenied: (host, address) => !allow.hasName(stripDot(host.toLowerCase())) && addressDenied(unzone(address)),
  };
}

/** A name, or `*.` and a name: labels of letters, digits, `-` and `_`. */
const HOST_PATTERN = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

interface CompiledList {
  hasAddress(address: string): boolean;
  hasName(name: string): boolean;
}

function compile(rules: OutboundRule[]): CompiledList {
  const ranges = new BlockList();
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const rule of rules) {
    if (rule.kind === "range") ranges.addSubnet(rule.address, rule.prefix, rule.family);
    else if (rule.pattern.startsWith("*.")) suffixes.push(rule.pattern.slice(1));
    else names.add(rule.pattern);
  }
  return {
    // BlockList matches IPv4-mapped IPv6 addresses (::ffff:169.254.169.254) against IPv4 ranges.
    hasAddress(address) {
      const family = isIP(address);
      return family !== 0 && ranges.check(address, family === 6 ? "ipv6" : "ipv4");
    },
    hasName: (name) => names.has(name) || suffixes.some((suffix) => name.endsWith(suffix)),
  };
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** `metadata.google.internal.` is the same name as `metadata.google.internal`. */
function stripDot(name: string): string {
  return name.endsWith(".") ? name.replace(/\.+$/, "") : name;
}

/** A link-local IPv6 address may come with its interface (`fe80::1%eth0`); the range check wants the address. */
function unzone(address: string): string {
  const percent = address.indexOf("%");
  return percent < 0 ? address : address.slice(0, percent);
}
