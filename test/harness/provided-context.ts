/**
 * Values the vitest global setup hands to test files through `inject()`. Import this module
 * (for its types only) wherever `project.provide` or `inject` is used with these keys.
 */
declare module "vitest" {
  export interface ProvidedContext {
    /** Connection string of the MongoDB-compatible server the Mongo store tests use. */
    mongoUri: string;
    /** Client URLs of the single-member etcd the coordinator contract suite uses. */
    etcdEndpoints: string[];
  }
}

export {};
