import { useEffect, useState } from "preact/hooks";
import type { Api } from "../api/clients.js";

/**
 * Names of the jobs with the given ids, fetched once per id (GetJob) as new ids show up; an id
 * whose job cannot be read (deleted) keeps showing as its id.
 */
export function useJobNames(api: Api, jobIds: readonly string[]): Map<string, string> {
  const [names, setNames] = useState(() => new Map<string, string>());
  const [asked] = useState(() => new Set<string>());
  const key = [...new Set(jobIds)].sort().join(",");
  useEffect(() => {
    for (const id of new Set(jobIds)) {
      if (asked.has(id)) continue;
      asked.add(id);
      api.cron.getJob({ jobId: id }).then(
        (r) => setNames((m) => new Map(m).set(id, r.job?.name ?? id)),
        () => undefined,
      );
    }
    // `key` stands for jobIds: the effect runs when the set of ids changes, not on every render.
  }, [api, key]);
  return names;
}
