import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobSchema, JobStatus } from "../../gen/cronmesh/v1/job_pb.js";
import { RunTrigger } from "../../gen/cronmesh/v1/run_pb.js";
import { ensureConsoleBuilt, launchChromium, outputFolder, recordPage, step, type PageLog } from "../harness/browser.js";
import { clientsFor, waitRun, type Clients } from "../harness/clients.js";
import { startTestNode, type StoreKind, type TestNode } from "../harness/node.js";
import { startAuthGate } from "../harness/auth-gate.js";
import { startSink, type Sink } from "../harness/sink.js";

/** A job of four tasks: extract, then transform and validate, then load. */
async function createDagJob(api: Clients, name: string, url: string) {
  const { job } = await api.cron.createJob({
    job: create(JobSchema, { name, schedule: "0 3 * * *", timezone: "Europe/Belgrade", tags: { team: "data" }, target: { url } }),
  });
  const tasks: [string, string[]][] = [
    ["extract", []],
    ["transform", ["extract"]],
    ["validate", ["extract"]],
    ["load", ["transform", "validate"]],
  ];
  for (const [taskId, dependsOn] of tasks) await api.cron.addTask({ jobId: job!.jobId, task: { taskId, dependsOn, target: { url: `${url}/${taskId}` } } });
  return job!;
}

/** Each wait for something the page should show; generous for a shared two-core machine. */
const UI_MS = 10_000;

let browser: Browser;
beforeAll(async () => {
  ensureConsoleBuilt();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
});

describe.each<StoreKind>(["sqlite", "mongo"])("the web console in Chromium on %s", (kind) => {
  const out = outputFolder("console", kind);
  let sink: Sink;
  let node: TestNode;
  let api: Clients;
  let context: BrowserContext;
  let page: Page;
  let log: PageLog;
  let jobId = "";
  const jobName = `report-${kind}`;
  const run = <T>(name: string, body: () => Promise<T>) => step(page, log, out, name, body);

  beforeAll(async () => {
    console.log(`[console test] screenshots and failure reports for ${kind}: ${out}`);
    sink = await startSink();
    sink.reply((d) => (d.path.startsWith("/fail") ? { status: 503, body: "export service down" } : { status: 200, body: "ok" }));
    // The sink's origin stands for a page served elsewhere that may call the API.
    node = await startTestNode(kind, { env: { CORS_ORIGINS: sink.url } });
    api = clientsFor(node.baseUrl);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(UI_MS);
    log = recordPage(page);
  });
  afterAll(async () => {
    await context?.close();
    await node?.stop();
    await sink?.close();
  });

  it("serves the page at /ui/ from /, and creates a job in the form, naming the field of a bad schedule", async () => {
    await run("open the console", async () => {
      await page.goto(`${node.baseUrl}/`);
      expect(new URL(page.url()).pathname).toBe("/ui/");
      await page.getByRole("heading", { name: "Jobs" }).waitFor();
      await page.getByText("No jobs match").waitFor();
    });
    await run("fill the new job form with a bad schedule", async () => {
      await page.getByRole("link", { name: "New job" }).click();
      await page.fill("input[name=name]", jobName);
      await page.fill("input[name=schedule]", "every other tuesday");
      await page.fill("input[name=url]", `${sink.url}/report`);
      await page.fill("input[name=tags]", "team=console, tier=2");
      await page.selectOption("select[name=concurrency]", { label: "allow overlap" });
      await page.getByRole("button", { name: "Create job" }).click();
      const alert = page.locator("form .error-box");
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(/Invalid input.*field schedule/);
      await page.locator('.field.invalid[data-field="schedule"]').waitFor();
    });
    await run("fix the schedule and create the job", async () => {
      await page.fill("input[name=schedule]", "*/2 * * * * *");
      await page.getByTestId("schedule-words").getByText("Every 2 seconds").waitFor();
      await page.getByRole("button", { name: "Create job" }).click();
      await page.locator(".job-detail h2", { hasText: jobName }).waitFor();
      jobId = decodeURIComponent(new URL(page.url()).hash.split("/")[2]!);
      await page.locator("[data-testid=fire-times] tbody tr").nth(9).waitFor();
    });
    const { job } = await api.cron.getJob({ jobId });
    expect(job).toMatchObject({ name: jobName, schedule: "*/2 * * * * *", status: JobStatus.ACTIVE, tags: { team: "console", tier: "2" } });
    expect(job!.target?.url).toBe(`${sink.url}/report`);
  });

  it("asks for a token when a call answers Unauthenticated, sends it on every call, and signs out", async () => {
    const gate = await startAuthGate(node.baseUrl, "let-me-in");
    const tab = await context.newPage();
    const tabLog = recordPage(tab);
    try {
      await step(tab, tabLog, out, "sign in through the gate", async () => {
        await tab.goto(`${gate.url}/ui/`);
        const dialog = tab.getByTestId("sign-in");
        await dialog.locator("input[name=token]").fill("not-the-token");
        await dialog.getByRole("button", { name: "Sign in" }).click();
        await dialog.getByText("Not accepted").waitFor();
        expect(await tab.evaluate(() => sessionStorage.getItem("cronmesh.token"))).toBeNull();
        await dialog.locator("input[name=token]").fill("let-me-in");
        await dialog.getByRole("button", { name: "Sign in" }).click();
        await tab.locator(`tr[data-job-id="${jobId}"]`).waitFor();
        await tab.getByTestId("identity").getByText("anonymous").waitFor();
      });
      expect(await tab.evaluate(() => sessionStorage.getItem("cronmesh.token"))).toBe("let-me-in");
      const accepted = gate.calls.findIndex((c) => c.authorization === "Bearer let-me-in");
      const after = gate.calls.slice(accepted);
      expect(after.length).toBeGreaterThan(2);
      expect(after.filter((c) => c.authorization !== "Bearer let-me-in")).toEqual([]);
      await step(tab, tabLog, out, "sign out", async () => {
        await tab.getByRole("button", { name: "Sign out" }).click();
        await tab.getByTestId("sign-in").waitFor();
      });
      expect(await tab.evaluate(() => sessionStorage.getItem("cronmesh.token"))).toBeNull();
      expect(gate.calls.at(-1)!.authorization).toBe("");
    } finally {
      await tab.close();
      await gate.close();
    }
  });

  it("lets a page on an origin in CORS_ORIGINS call the API, preflight included, and no other origin", async () => {
    const elsewhere = await startSink();
    const tab = await context.newPage();
    // A Connect call with an Authorization header, as connect-web makes it: the browser sends a preflight first.
    const callFrom = async (origin: string) => {
      await tab.goto(`${origin}/a-page`);
      return tab.evaluate(async (api) => {
        try {
          const res = await fetch(`${api}/cronmesh.v1.CronService/PreviewSchedule`, {
            method: "POST",
            headers: { "content-type": "application/json", "connect-protocol-version": "1", authorization: "Bearer t" },
            body: JSON.stringify({ schedule: "not a schedule" }),
          });
          return { status: res.status, field: res.headers.get("cronmesh-field") };
        } catch (err) {
          return { blocked: String(err) };
        }
      }, node.baseUrl);
    };
    try {
      expect(await callFrom(sink.url)).toEqual({ status: 400, field: "schedule" });
      expect(await callFrom(elsewhere.url)).toEqual({ blocked: "TypeError: Failed to fetch" });
    } finally {
      await tab.close();
      await elsewhere.close();
    }
  });

  it("shows the job's runs as they happen on Live runs, without a reload", async () => {
    await run("open Live runs and wait for the stream", async () => {
      await page.getByRole("link", { name: "Live runs" }).click();
      await page.locator("[data-live=on]").waitFor();
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    });
    const since = Date.now();
    const [delivery] = await sink.waitFor((d) => d.jobId === jobId && d.receivedAt > since, 1, UI_MS);
    await run("see the new run appear", async () => {
      const row = page.locator(`tr[data-run-id="${delivery!.runId}"]`);
      await row.waitFor();
      await row.locator('[data-status="succeeded"]').waitFor();
      expect(await row.textContent()).toContain(jobName);
    });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it("triggers the job and shows the manual run in its history", async () => {
    const runId = await run("trigger from the job page", async () => {
      await page.goto(`${node.baseUrl}/ui/#/jobs/${jobId}`);
      await page.getByRole("button", { name: "Trigger now" }).click();
      const toast = page.locator(".toast.ok", { hasText: "Triggered: run" });
      await toast.waitFor();
      return /run (\S+)/.exec((await toast.textContent())!)![1]!;
    });
    await sink.waitFor((d) => d.runId === runId, 1, UI_MS);
    await run("see the manual run succeed in the history", async () => {
      const row = page.locator(`tr[data-run-id="${runId}"]`);
      await row.locator('[data-status="succeeded"]').waitFor();
      expect(await row.textContent()).toContain("manual");
      await row.click();
      await page.locator("tr.details table.attempts").getByText("200").waitFor();
    });
    expect((await waitRun(api, runId)).trigger).toBe(RunTrigger.MANUAL);
  });

  it("pauses the job with a note", async () => {
    await run("pause with a note", async () => {
      await page.getByRole("button", { name: "Pause…" }).click();
      await page.getByRole("dialog").locator("input[name=note]").fill("quarterly freeze");
      await page.getByRole("dialog").getByRole("button", { name: "Pause" }).click();
      await page.locator('h2 [data-status="paused"]').waitFor();
      expect(await page.getByTestId("pause-note").textContent()).toContain("quarterly freeze");
    });
    const { job } = await api.cron.getJob({ jobId });
    expect(job).toMatchObject({ status: JobStatus.PAUSED, pauseNote: "quarterly freeze" });
  });

  it("edits the job, shows a concurrent change as a readable conflict, and rolls back a version", async () => {
    await run("open the edit form", async () => {
      await page.getByRole("link", { name: "Edit" }).click();
      await page.fill("input[name=description]", "mine from the browser");
    });
    const { job: before } = await api.cron.getJob({ jobId });
    const elsewhere = { ...before!, description: "changed elsewhere", timezone: "Europe/Belgrade" };
    await api.cron.updateJob({ job: elsewhere, updateMask: { paths: ["description", "timezone"] } }, { headers: { "x-cronmesh-actor": "bob" } });
    await run("save into the conflict", async () => {
      await page.getByRole("button", { name: "Save changes" }).click();
      const conflict = page.getByTestId("conflict");
      await conflict.waitFor();
      const text = (await conflict.textContent())!;
      expect(text).toContain("this job changed while you were editing");
      expect(text).toContain("saved by bob");
      expect(text).toContain('"description": "changed elsewhere"');
    });
    expect((await api.cron.getJob({ jobId })).job!.description).toBe("changed elsewhere");
    await run("save mine over the newer version", async () => {
      await page.getByRole("button", { name: /Save mine over v/ }).click();
      await page.locator(".job-detail h2", { hasText: jobName }).waitFor();
    });
    const { job: saved } = await api.cron.getJob({ jobId });
    // Only the field edited in the browser is written: bob's time zone stays.
    expect(saved).toMatchObject({ description: "mine from the browser", timezone: "Europe/Belgrade", status: JobStatus.PAUSED });
    const { versions } = await api.cron.listJobVersions({ jobId });
    expect(versions[0]).toMatchObject({ version: saved!.version, createdBy: "anonymous" });
    expect(versions[1]).toMatchObject({ createdBy: "bob" });
    await run("roll back to the first version", async () => {
      await page.locator('tr[data-version="1"]').click();
      await page.locator(".versions .diff").getByText("v1 (create)").waitFor();
      await page.locator('tr[data-version="1"]').getByRole("button", { name: "Roll back…" }).click();
      await page.getByRole("dialog").getByText('"description": "mine from the browser"').waitFor();
      await page.getByRole("dialog").getByRole("button", { name: "Roll back" }).click();
      await page.locator(".toast.ok", { hasText: "Rolled back to v1" }).waitFor();
      await page
        .locator(`tr[data-version="${saved!.version + 1n}"]`)
        .getByText("rollback to v1")
        .waitFor();
    });
    const { job: rolledBack } = await api.cron.getJob({ jobId });
    // v1 was active: the rollback restores that too.
    expect(rolledBack).toMatchObject({ description: "", timezone: "UTC", version: saved!.version + 1n, schedule: "*/2 * * * * *", status: JobStatus.ACTIVE });
  });

  it("deletes a job", async () => {
    const { job } = await api.cron.createJob({
      job: create(JobSchema, { name: `doomed-${kind}`, schedule: "0 0 1 1 *", target: { url: `${sink.url}/never` } }),
    });
    await run("delete from the job page", async () => {
      await page.goto(`${node.baseUrl}/ui/#/jobs/${job!.jobId}`);
      await page.getByRole("button", { name: "Delete…" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete job" }).click();
      await page.getByRole("heading", { name: "Jobs", exact: true }).waitFor();
      await page.locator(".toast.ok", { hasText: `Deleted doomed-${kind}` }).waitFor();
    });
    await expect(api.cron.getJob({ jobId: job!.jobId })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("redrives a dead letter", async () => {
    const { job } = await api.cron.createJob({
      job: create(JobSchema, { name: `export-${kind}`, schedule: "0 0 1 1 *", target: { url: `${sink.url}/fail/export` }, retry: { maxAttempts: 1 } }),
    });
    const { runId: failed } = await api.cron.triggerJob({ jobId: job!.jobId });
    await waitRun(api, failed);
    await expect.poll(async () => (await api.runs.listDeadLetters({})).runs.map((r) => r.runId), { timeout: UI_MS }).toContain(failed);
    sink.reply(() => ({ status: 200, body: "ok" }));
    const redrive = await run("redrive from the dead letters page", async () => {
      await page.getByRole("link", { name: "Dead letters" }).click();
      const row = page.locator(`tr[data-run-id="${failed}"]`);
      expect(await row.textContent()).toContain("HTTP 503");
      await row.getByRole("button", { name: "Redrive" }).click();
      const toast = page.locator(".toast.ok", { hasText: "Redriven: new run" });
      await toast.waitFor();
      // A redriven entry leaves the queue; it shows again, marked, with "include redriven".
      await row.waitFor({ state: "detached" });
      await page.getByLabel("include redriven").check();
      await row.getByTestId("redriven-by").waitFor();
      return /new run (\S+)/.exec((await toast.textContent())!)![1]!;
    });
    await sink.waitFor((d) => d.runId === redrive, 1, UI_MS);
    expect(await waitRun(api, redrive)).toMatchObject({ redriveOf: failed, trigger: RunTrigger.REDRIVE });
  });

  it("saves screenshots of the jobs page, of a job's history and of a DAG", async () => {
    let failNext = true;
    sink.reply((d) => (d.jobId === jobId && failNext ? ((failNext = false), { status: 503, body: "report store unavailable" }) : { status: 200, body: "ok" }));
    await api.cron.pauseJob({ jobId, note: "quarterly freeze" });
    await run("resume with a note", async () => {
      await page.goto(`${node.baseUrl}/ui/#/jobs/${jobId}`);
      await page.getByRole("button", { name: "Resume…" }).click();
      await page.getByRole("dialog").locator("input[name=note]").fill("freeze over");
      await page.getByRole("dialog").getByRole("button", { name: "Resume" }).click();
      await page.locator('h2 [data-status="active"]').waitFor();
    });
    expect((await api.cron.getJob({ jobId })).job).toMatchObject({ status: JobStatus.ACTIVE, pauseNote: "freeze over" });
    const dag = await createDagJob(api, `warehouse-load-${kind}`, `${sink.url}/etl`);
    const triggered = await Promise.all([api.cron.triggerJob({ jobId }), api.cron.triggerJob({ jobId: dag.jobId })]);
    await Promise.all(triggered.map((t) => waitRun(api, t.runId)));
    await run("screenshot the jobs page", async () => {
      // A reload, not a hash change: the screenshots show pages without the earlier steps' toasts.
      await page.goto(`${node.baseUrl}/ui/#/jobs`);
      await page.reload();
      await page.locator(`tr[data-job-id="${dag.jobId}"] .tick`).first().waitFor();
      await page.locator(`tr[data-job-id="${jobId}"] .tick.bad, tr[data-job-id="${jobId}"] .tick.dlq`).first().waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(out, "jobs.png"), fullPage: true });
    });
    await run("screenshot the job's history", async () => {
      await page.goto(`${node.baseUrl}/ui/#/jobs/${jobId}`);
      await page.reload();
      const failed = page.locator(".runs tbody tr[data-run-id]", { hasText: "HTTP 503" }).first();
      await failed.click();
      await page.locator("tr.details table.attempts").getByText("report store unavailable").waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(out, "job-history.png"), fullPage: true });
    });
    await run("screenshot a DAG job", async () => {
      await page.goto(`${node.baseUrl}/ui/#/jobs/${dag.jobId}`);
      await page.reload();
      await page.locator('svg.dag [data-task="load"].ok').waitFor();
      expect(await page.locator("svg.dag [data-edge]").count()).toBe(4);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(out, "dag.png"), fullPage: true });
    });
  });

  it("filters jobs by status and tag, pages through them, and shows the cluster", async () => {
    const fillers = Array.from({ length: 20 }, (_, i) =>
      create(JobSchema, { name: `filler-${String(i).padStart(2, "0")}`, schedule: "0 0 1 1 *", target: { url: `${sink.url}/never` } }),
    );
    await Promise.all(fillers.map((job) => api.cron.createJob({ job })));
    await run("filter by tag and status", async () => {
      await page.goto(`${node.baseUrl}/ui/#/jobs`);
      const loads = await page.locator("table.jobs").getAttribute("data-loads");
      await page.fill("input[name=tag]", "team=data");
      // The list refreshes itself while the operator types: what was typed must survive it.
      await page.waitForFunction((before) => document.querySelector("table.jobs")?.getAttribute("data-loads") !== before, loads);
      await page.press("input[name=tag]", "Enter");
      await page.getByTestId("page-range").getByText("1–1 of 1").waitFor();
      expect(await page.locator("table.jobs tbody tr[data-job-id]").allTextContents()).toEqual([expect.stringContaining(`warehouse-load-${kind}`)]);
      await page.selectOption("select[name=status]", { label: "paused" });
      await page.getByText("No jobs match").waitFor();
      await page.selectOption("select[name=status]", { label: "all" });
      await page.fill("input[name=tag]", "");
      await page.press("input[name=tag]", "Enter");
    });
    await run("page through 23 jobs", async () => {
      await page.getByTestId("page-range").getByText("1–20 of 23").waitFor();
      await page.getByRole("button", { name: "Next ›" }).click();
      await page.getByTestId("page-range").getByText("21–23 of 23").waitFor();
      expect(await page.locator("table.jobs tbody tr[data-job-id]").count()).toBe(3);
    });
    await run("show the cluster", async () => {
      await page.getByRole("link", { name: "Cluster" }).click();
      const member = page.locator(`tr[data-node="${node.node.coordinator.nodeId}"]`);
      await member.getByText("leader").waitFor();
      await page.locator(".tile", { hasText: "Mode" }).getByText("single").waitFor();
      await page.locator(".tile", { hasText: "Load" }).getByText("normal", { exact: true }).waitFor();
      await page
        .locator(".tile", { hasText: "Load" })
        .getByText(/of [\d,]+ queued/)
        .waitFor();
      expect(await page.getByTestId("overload-banner").count()).toBe(0);
      await page.locator(".card", { hasText: "Next runs" }).getByText(jobName).waitFor();
    });
    expect(log.errors).toEqual([]);
  });
});
