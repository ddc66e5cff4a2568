import type { Filter } from "mongodb";
import { hasFilter, parseTagFilter } from "../job-filter.js";
import type { JobFilter } from "../store.js";
import { tagKeyEntry, tagValueEntry, type JobDocument } from "./job-documents.js";

/** Escapes every regular-expression metacharacter so that text matches literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/**
 * The query of a job listing. Tags are matched through `tagIndex` by plain equality, so a tag key
 * never becomes a field path or an operator; text is a literal, case-insensitive substring.
 */
export function jobQuery(filter: JobFilter): Filter<JobDocument> {
  const query: Filter<JobDocument> = {};
  if (hasFilter(filter, "projectId")) query["spec.projectId"] = filter.projectId;
  if (hasFilter(filter, "status")) query.status = filter.status;
  if (hasFilter(filter, "owner")) query.createdBy = filter.owner;
  if (hasFilter(filter, "tag")) query.tagIndex = tagEntryOf(filter.tag!);
  if (hasFilter(filter, "text")) {
    const pattern = { $regex: escapeRegExp(filter.text!), $options: "i" };
    query.$or = [{ "spec.name": pattern }, { "spec.description": pattern }];
  }
  return query;
}

function tagEntryOf(tag: string): string {
  const { key, value } = parseTagFilter(tag);
  return value === undefined ? tagKeyEntry(key) : tagValueEntry(key, value);
}
