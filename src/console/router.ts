import { useEffect, useState } from "preact/hooks";

/** The console's pages, addressed by the URL fragment so that the server serves one file. */
export type Route =
  | { page: "jobs" }
  | { page: "new-job" }
  | { page: "job"; jobId: string }
  | { page: "edit-job"; jobId: string }
  | { page: "live" }
  | { page: "dead-letters" }
  | { page: "cluster" }
  | { page: "not-found"; path: string };

/** The route of a location hash (`#/jobs/abc/edit`); an empty hash is the jobs list. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/\/+$/, "") || "/jobs";
  const parts = path.split("/").slice(1).map(decodeURIComponent);
  const [first, id, action] = parts;
  if (first === "jobs" && parts.length === 1) return { page: "jobs" };
  if (first === "jobs" && id === "new" && parts.length === 2) return { page: "new-job" };
  if (first === "jobs" && id && parts.length === 2) return { page: "job", jobId: id };
  if (first === "jobs" && id && action === "edit" && parts.length === 3) return { page: "edit-job", jobId: id };
  if (first === "live" && parts.length === 1) return { page: "live" };
  if (first === "dead-letters" && parts.length === 1) return { page: "dead-letters" };
  if (first === "cluster" && parts.length === 1) return { page: "cluster" };
  return { page: "not-found", path };
}

/** Links to the pages. */
export const href = {
  jobs: () => "#/jobs",
  newJob: () => "#/jobs/new",
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
  editJob: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}/edit`,
  live: () => "#/live",
  deadLetters: () => "#/dead-letters",
  cluster: () => "#/cluster",
};

/** Goes to a page. */
export function navigate(to: string): void {
  location.hash = to;
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
