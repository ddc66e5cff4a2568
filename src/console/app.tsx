import { useEffect, useMemo, useState } from "preact/hooks";
import type { GetWhoAmIResponse } from "../../gen/cronmesh/v1/cron_service_pb.js";
import { createApi } from "./api/clients.js";
import type { Credentials } from "./api/credentials.js";
import { SignIn } from "./components/sign-in.js";
import { Console, type ConsoleContext, type Toast } from "./context.js";
import { href, useRoute, type Route } from "./router.js";
import { ClusterView } from "./views/cluster.js";
import { DeadLettersView } from "./views/dead-letters.js";
import { JobDetailView } from "./views/job-detail.js";
import { EditJobView, NewJobView } from "./views/job-form.js";
import { JobsView } from "./views/jobs.js";
import { LiveRunsView } from "./views/live-runs.js";

/** A toast stays this long. */
const TOAST_MS = 6000;

/** The console: header with navigation and identity, the current page, the sign-in dialog and toasts. */
export function App({ baseUrl, credentials }: { baseUrl: string; credentials: Credentials }) {
  const api = useMemo(() => createApi(baseUrl, credentials), [baseUrl, credentials]);
  const route = useRoute();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [asked, setAsked] = useState(false);
  // Bumped on sign-in and sign-out: the page remounts and loads again with the new credential.
  const [epoch, setEpoch] = useState(0);
  const [me, setMe] = useState<GetWhoAmIResponse>();
  useEffect(() => credentials.onDemand(() => setAsked(true)), [credentials]);
  useEffect(() => {
    api.cron.getWhoAmI({}).then(setMe, () => setMe(undefined));
  }, [api, epoch]);
  const ctx = useMemo<ConsoleContext>(
    () => ({
      api,
      credentials,
      notify(kind, text) {
        const id = Date.now() + Math.random();
        setToasts((ts) => [...ts.slice(-4), { id, kind, text }]);
        setTimeout(() => setToasts((ts) => ts.filter((t) => t.id !== id)), TOAST_MS);
      },
    }),
    [api, credentials],
  );
  const signOut = () => {
    credentials.clear();
    setMe(undefined);
    setEpoch((e) => e + 1);
  };
  return (
    <Console.Provider value={ctx}>
      <header class="top">
        <a class="brand" href={href.jobs()}>
          cronmesh
        </a>
        <nav>
          <NavLink to={href.jobs()} active={route.page === "jobs" || route.page === "job" || route.page === "new-job" || route.page === "edit-job"}>
            Jobs
          </NavLink>
          <NavLink to={href.live()} active={route.page === "live"}>
            Live runs
          </NavLink>
          <NavLink to={href.deadLetters()} active={route.page === "dead-letters"}>
            Dead letters
          </NavLink>
          <NavLink to={href.cluster()} active={route.page === "cluster"}>
            Cluster
          </NavLink>
        </nav>
        <span class="spacer" />
        <Identity me={me} signedIn={!!credentials.get()} onSignIn={() => setAsked(true)} onSignOut={signOut} />
      </header>
      <main key={epoch}>
        <Page route={route} />
      </main>
      {asked ? (
        <SignIn
          onClose={() => setAsked(false)}
          onSignedIn={() => {
            setAsked(false);
            setEpoch((e) => e + 1);
          }}
        />
      ) : null}
      <div class="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div
            key={t.id}
            class={`toast ${t.kind}`}
            role={t.kind === "error" ? "alert" : "status"}
            title="click to dismiss"
            onClick={() => setToasts((ts) => ts.filter((x) => x.id !== t.id))}
          >
            {t.text}
          </div>
        ))}
      </div>
    </Console.Provider>
  );
}

function NavLink({ to, active, children }: { to: string; active: boolean; children: string }) {
  return (
    <a href={to} class={active ? "active" : ""} aria-current={active ? "page" : undefined}>
      {children}
    </a>
  );
}

function Identity({ me, signedIn, onSignIn, onSignOut }: { me?: GetWhoAmIResponse; signedIn: boolean; onSignIn: () => void; onSignOut: () => void }) {
  return (
    <div class="identity" data-testid="identity">
      {me ? (
        <span title={`auth: ${me.authMode}${me.projectId ? ` · project ${me.projectId}` : ""}`}>
          <span class="who">{me.subject}</span>
          <span class="roles">
            {me.roles.join(", ")}
            {me.authMode === "none" ? " · no auth" : ""}
          </span>
        </span>
      ) : (
        <span class="roles">not signed in</span>
      )}
      {signedIn ? (
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      ) : me ? null : (
        <button type="button" class="link" onClick={onSignIn}>
          Sign in
        </button>
      )}
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "jobs":
      return <JobsView />;
    case "new-job":
      return <NewJobView />;
    case "job":
      return <JobDetailView key={route.jobId} jobId={route.jobId} />;
    case "edit-job":
      return <EditJobView key={route.jobId} jobId={route.jobId} />;
    case "live":
      return <LiveRunsView />;
    case "dead-letters":
      return <DeadLettersView />;
    case "cluster":
      return <ClusterView />;
    case "not-found":
      return (
        <section>
          <h2>Not found</h2>
          <p>
            No page at <code>{route.path}</code>. <a href={href.jobs()}>Go to jobs</a>.
          </p>
        </section>
      );
  }
}
