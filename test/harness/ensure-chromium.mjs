// Makes sure Debian's Chromium is available for the web console's browser tests.
//
// Usage: node test/harness/ensure-chromium.mjs
//
// Uses $CRONMESH_CHROMIUM when set, else /usr/bin/chromium; when it does not run, installs
// Debian's `chromium` package with apt-get. A browser is never downloaded any other way
// (playwright-core drives the system binary).
import { ensureBinary } from "./ensure-binary.mjs";

ensureBinary({ name: "chromium", bin: "/usr/bin/chromium", envVar: "CRONMESH_CHROMIUM", pkg: "chromium" });
