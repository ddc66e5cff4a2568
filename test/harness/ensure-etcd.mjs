// Makes sure an etcd server binary is available for the cluster tests.
//
// Usage: node test/harness/ensure-etcd.mjs
//
// Uses $CRONMESH_ETCD_BIN, else `etcd` on the PATH; when neither works, installs Debian's
// etcd-server package (3.4) with apt-get. The package cannot start itself here (no systemd): the
// tests start their own members on free loopback ports with temporary data directories.
import { ensureBinary } from "./ensure-binary.mjs";

ensureBinary({ name: "etcd", bin: "etcd", envVar: "CRONMESH_ETCD_BIN", pkg: "etcd-server" });
