import { describe, expect, it } from "vitest";
import { createOutboundPolicy, outboundDenied, parseOutboundList, parseOutboundRule, type OutboundRules } from "../../src/domain/outbound-policy.js";

const rules = (deny = "", allow = ""): OutboundRules => ({ deny: parseOutboundList(deny), allow: parseOutboundList(allow) });

describe("outbound rules", () => {
  const cases: [string, string, unknown][] = [
    ["an IPv4 range", "10.0.0.0/8", { kind: "range", address: "10.0.0.0", prefix: 8, family: "ipv4" }],
    ["one IPv4 address is a /32", "192.168.1.7", { kind: "range", address: "192.168.1.7", prefix: 32, family: "ipv4" }],
    ["an IPv6 range, lower-cased", "FD00::/8", { kind: "range", address: "fd00::", prefix: 8, family: "ipv6" }],
    ["one IPv6 address in brackets is a /128", "[::1]", { kind: "range", address: "::1", prefix: 128, family: "ipv6" }],
    ["a host name, lower-cased, without its trailing dot", " Metadata.Google.Internal. ", { kind: "host", pattern: "metadata.google.internal" }],
    ["a wildcard pattern", "*.internal", { kind: "host", pattern: "*.internal" }],
  ];
  it.each(cases)("parses %s", (_name, text, rule) => {
    expect(parseOutboundRule(text)).toEqual(rule);
  });

  const bad: [string, string][] = [
    ["a prefix too long for IPv4", "10.0.0.0/33"],
    ["a prefix too long for IPv6", "fe80::/129"],
    ["an empty prefix", "10.0.0.0/"],
    ["a prefix that is not a number", "10.0.0.0/x"],
    ["a range of a name", "example.com/8"],
    ["a wildcard in the middle", "a.*.internal"],
    ["a URL instead of a host", "http://example.com"],
    ["a host with a port", "example.com:80"],
  ];
  it.each(bad)("refuses %s", (_name, text) => {
    expect(() => parseOutboundRule(text)).toThrow(/prefix|neither/);
  });

  it("reads a comma-separated list, ignoring empty entries", () => {
    expect(parseOutboundList(" 10.0.0.0/8, ,*.corp ,").map((r) => (r.kind === "host" ? r.pattern : `${r.address}/${r.prefix}`))).toEqual([
      "10.0.0.0/8",
      "*.corp",
    ]);
    expect(parseOutboundList("")).toEqual([]);
  });
});

describe("outbound policy: the host of a URL, before resolving it", () => {
  // [case, URL host as URL.hostname gives it, OUTBOUND_DENY, OUTBOUND_ALLOW, denied]
  const cases: [string, string, string, string, boolean][] = [
    ["the AWS/GCP/Azure metadata address is denied", "169.254.169.254", "", "", true],
    ["any link-local IPv4 address is denied", "169.254.0.1", "", "", true],
    ["the address just below link-local is allowed", "169.253.255.255", "", "", false],
    ["a link-local IPv6 address is denied", "[fe80::1]", "", "", true],
    ["the top of fe80::/10 is denied", "[febf:ffff::1]", "", "", true],
    ["just past fe80::/10 is allowed", "[fec0::1]", "", "", false],
    ["the Alibaba metadata address is denied", "100.100.100.200", "", "", true],
    ["its neighbour is allowed", "100.100.100.201", "", "", false],
    ["the AWS IPv6 metadata address is denied", "[fd00:ec2::254]", "", "", true],
    ["0.0.0.0 is denied", "0.0.0.0", "", "", true],
    ["all of 0.0.0.0/8 is denied", "0.255.1.2", "", "", true],
    ["the IPv6 unspecified address is denied", "[::]", "", "", true],
    ["an IPv4-mapped IPv6 literal of a denied address is denied", "[::ffff:a9fe:a9fe]", "", "", true],
    ["loopback is allowed by default", "127.0.0.1", "", "", false],
    ["IPv6 loopback is allowed by default", "[::1]", "", "", false],
    ["private 10/8 is allowed by default", "10.1.2.3", "", "", false],
    ["private 192.168/16 is allowed by default", "192.168.0.10", "", "", false],
    ["unique-local IPv6 is allowed by default", "[fd12::1]", "", "", false],
    ["a public address is allowed", "93.184.216.34", "", "", false],
    ["metadata.google.internal is denied by name", "metadata.google.internal", "", "", true],
    ["its trailing-dot form is denied too", "metadata.google.internal.", "", "", true],
    ["a bare metadata name is denied", "metadata", "", "", true],
    ["a name that only ends like a denied one is allowed", "notmetadata.google.internal.example", "", "", false],
    ["an ordinary name is allowed before resolving it", "example.com", "", "", false],
    ["OUTBOUND_DENY adds a range", "127.0.0.1", "127.0.0.0/8", "", true],
    ["OUTBOUND_DENY adds an IPv6 address", "[::1]", "::1", "", true],
    ["OUTBOUND_DENY adds a name", "billing.corp", "billing.corp", "", true],
    ["a wildcard denies every name under it", "a.b.corp", "*.corp", "", true],
    ["a wildcard does not deny the bare suffix", "corp", "*.corp", "", false],
    ["a wildcard does not deny a name that merely ends with the same letters", "acorp", "*.corp", "", false],
    ["name patterns do not apply to IP literals", "10.0.0.1", "*.corp", "", false],
    ["OUTBOUND_ALLOW makes an exception to a default range", "169.254.169.254", "", "169.254.169.254", false],
    ["the exception does not reach the rest of the range", "169.254.169.253", "", "169.254.169.254", true],
    ["OUTBOUND_ALLOW makes an exception inside OUTBOUND_DENY", "10.1.2.3", "10.0.0.0/8", "10.1.2.0/24", false],
    ["OUTBOUND_ALLOW makes an exception to a denied name", "metadata.google.internal", "", "metadata.google.internal", false],
    ["an allowed wildcard makes an exception to a denied one", "ok.a.corp", "*.corp", "*.a.corp", false],
    ["deny everything, allow one range", "8.8.8.8", "0.0.0.0/0,::/0", "10.0.0.0/8", true],
    ["deny everything, allow one range: inside it", "10.9.9.9", "0.0.0.0/0,::/0", "10.0.0.0/8", false],
  ];
  it.each(cases)("%s", (_name, host, deny, allow, denied) => {
    expect(createOutboundPolicy(rules(deny, allow)).hostDenied(host)).toBe(denied);
  });
});

describe("outbound policy: the addresses a name resolved to, when connecting", () => {
  // [case, name, resolved address, OUTBOUND_DENY, OUTBOUND_ALLOW, denied]
  const cases: [string, string, string, string, string, boolean][] = [
    ["a name resolving to the metadata address is denied (DNS rebinding)", "innocent.example", "169.254.169.254", "", "", true],
    ["a name resolving to a mapped metadata address is denied", "innocent.example", "::ffff:169.254.169.254", "", "", true],
    ["a link-local address with its interface is denied", "innocent.example", "fe80::1%eth0", "", "", true],
    ["a name resolving to loopback is allowed by default", "localhost", "127.0.0.1", "", "", false],
    ["a name resolving into OUTBOUND_DENY is denied", "localhost", "127.0.0.1", "127.0.0.0/8", "", true],
    ["an allowed address is allowed whatever the name", "innocent.example", "169.254.169.254", "", "169.254.169.254/32", false],
    ["an allowed name is trusted with what it resolves to", "metadata.google.internal", "169.254.169.254", "", "metadata.google.internal", false],
    ["an allowed wildcard is trusted too (trailing dot and case aside)", "Svc.Internal.", "169.254.1.1", "", "*.internal", false],
    ["a name not allowed gains nothing from a wildcard for others", "evil.example", "169.254.1.1", "", "*.internal", true],
  ];
  it.each(cases)("%s", (_name, host, address, deny, allow, denied) => {
    expect(createOutboundPolicy(rules(deny, allow)).addressDenied(host, address)).toBe(denied);
  });

  it("names the refused address in its message", () => {
    expect(outboundDenied("169.254.169.254")).toBe("outbound policy: 169.254.169.254 denied");
  });
});
