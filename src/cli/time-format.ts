import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(zone: string | undefined): Intl.DateTimeFormat {
  const key = zone ?? "";
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    });
    formats.set(key, format);
  }
  return format;
}

/**
 * ISO 8601 with the UTC offset of `zone` (an IANA name; default: this machine's time zone), to
 * the second: 1_767_254_400_000 in Europe/Belgrade → "2026-01-01T09:00:00+01:00", in UTC
 * "…T08:00:00+00:00". Throws a RangeError for an unknown zone.
 */
export function isoTime(ms: number, zone?: string): string {
  const parts = Object.fromEntries(
    formatFor(zone)
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  // longOffset reads "GMT+01:00"; some ICU versions write just "GMT" at offset zero.
  const offset = (parts.timeZoneName ?? "GMT").slice(3) || "+00:00";
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** {@link isoTime} of an optional timestamp in this machine's zone; "-" when it is unset. */
export function localTime(ts: Timestamp | undefined): string {
  return ts ? isoTime(timestampMs(ts)) : "-";
}
