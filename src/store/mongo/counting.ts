import type { Collection, Document, Filter } from "mongodb";

/**
 * How many documents of `collection` match `filter`, by the `count` command. Not
 * `countDocuments`: the driver runs that as an aggregation (`$match`, `$group`), which FerretDB v1
 * serves by decoding every document of the collection, whatever the filter: each CreateJob's
 * per-project count grew with all jobs stored (200 ms at 300 jobs on PostgreSQL), where `count`
 * takes the filter to the backend. On MongoDB, `count` with a filter is exact outside sharded
 * clusters (it counts through the filter's index), which is what cronmesh deploys on.
 */
export async function countMatching<T extends Document>(collection: Collection<T>, filter: Filter<T>): Promise<number> {
  const answer = await collection.db.command({ count: collection.collectionName, query: filter });
  return Number(answer.n ?? 0);
}
