// Makes sure PostgreSQL is available for FerretDB's PostgreSQL backend
// (CRONMESH_FERRETDB_BACKEND=postgresql, and the benchmarks that compare both backends).
//
// Usage: node test/harness/ensure-postgresql.mjs
//
// Uses the programs in $CRONMESH_PG_BIN_DIR, else Debian's PostgreSQL 15
// (/usr/lib/postgresql/15/bin); when they do not run, installs Debian's postgresql package with
// apt-get. The package cannot start a server here (no systemd): the harness starts its own on a free
// loopback port with a temporary data directory (test/harness/postgres.ts).
import { join } from "node:path";
import { ensureBinary } from "./ensure-binary.mjs";

const binDir = process.env.CRONMESH_PG_BIN_DIR || "/usr/lib/postgresql/15/bin";
ensureBinary({ name: "postgresql", bin: join(binDir, "postgres"), pkg: "postgresql" });
