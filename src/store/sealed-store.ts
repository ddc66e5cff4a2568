import { CronError } from "../domain/cron-error.js";
import type { JobRecord, JobSpec, JobVersionRecord } from "../domain/job.js";
import { isInlineSecret, mapSecrets, someSecret } from "../domain/job-secrets.js";
import { isSealed, SEALED_PREFIX, type SecretCipher } from "./secret-cipher.js";
import type { Store } from "./store.js";

/**
 * A Store that keeps the inline credentials of job specs sealed at rest (`SECRETS_KEY`): basic
 * passwords, bearer tokens, API keys, service tokens and sensitive header values, of the target
 * and of every task. Specs are sealed on the way in (jobs, and so the version snapshots the
 * adapters derive from them) and opened on the way out, so both adapters and every caller above
 * the port see plain specs. `secret://` references are not secrets and stay as they are.
 *
 * Each value is bound to its job and field (the AES-GCM associated data): a sealed value copied
 * into another job or field does not open. A re-save seals with the current key, which is how
 * values sealed with a previous key move to the new one.
 */
export function createSealedStore(inner: Store, cipher: SecretCipher): Store {
  const context = (jobId: string, field: string) => `${jobId}\n${field}`;
  const sealSpec = (jobId: string, spec: JobSpec): JobSpec =>
    mapSecrets(spec, (value, field) => {
      if (isSealed(value)) throw CronError.invalid(field, `must not start with ${SEALED_PREFIX}`);
      return isInlineSecret(value) ? cipher.seal(value, context(jobId, field)) : value;
    });
  const openSpec = (jobId: string, spec: JobSpec): JobSpec =>
    someSecret(spec, isSealed) ? mapSecrets(spec, (value, field) => (isSealed(value) ? cipher.open(value, context(jobId, field)) : value)) : spec;
  const sealJob = (job: JobRecord): JobRecord => ({ ...job, spec: sealSpec(job.jobId, job.spec) });
  // Records without sealed values (most, on the fire loop's hot path) come back as they are.
  const openJob = (job: JobRecord): JobRecord => {
    const spec = openSpec(job.jobId, job.spec);
    return spec === job.spec ? job : { ...job, spec };
  };
  const openVersion = (v: JobVersionRecord): JobVersionRecord => {
    const spec = openSpec(v.jobId, v.spec);
    return spec === v.spec ? v : { ...v, spec };
  };
  const openJobs = (jobs: JobRecord[]) => jobs.map(openJob);
  return {
    ...inner,
    createJob: async (job) => inner.createJob(sealJob(job)),
    updateJob: async (job, expectedVersion) => openJob(await inner.updateJob(sealJob(job), expectedVersion)),
    getJob: async (...args: Parameters<Store["getJob"]>) => {
      const job = await inner.getJob(...args);
      return job && openJob(job);
    },
    getJobs: async (...args: Parameters<Store["getJobs"]>) => openJobs(await inner.getJobs(...args)),
    listDueJobs: async (...args: Parameters<Store["listDueJobs"]>) => openJobs(await inner.listDueJobs(...args)),
    listJobs: async (...args: Parameters<Store["listJobs"]>) => {
      const page = await inner.listJobs(...args);
      return { ...page, items: openJobs(page.items) };
    },
    listJobsByPage: async (...args: Parameters<Store["listJobsByPage"]>) => {
      const page = await inner.listJobsByPage(...args);
      return { ...page, items: openJobs(page.items) };
    },
    listJobVersions: async (...args: Parameters<Store["listJobVersions"]>) => (await inner.listJobVersions(...args)).map(openVersion),
    getJobVersion: async (...args: Parameters<Store["getJobVersion"]>) => {
      const version = await inner.getJobVersion(...args);
      return version && openVersion(version);
    },
  };
}
