// A loopback HTTP sink in its own process, so that the service under test keeps its event loop.
// Records (job id, scheduled slot, arrival time) of every request; on "report" over IPC it sends
// them back and exits, on "take" it sends what it has so far and forgets it. Arrival time is
// Date.now() here: the same wall clock as the scheduler's.
import http from "node:http";

const records = [];
const server = http.createServer((req, res) => {
  const arrival = Date.now();
  req.resume();
  req.on("end", () => {
    records.push([String(req.headers["x-cronmesh-job-id"] ?? ""), String(req.headers["x-cronmesh-scheduled-at"] ?? ""), arrival]);
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});
server.keepAliveTimeout = 120_000;
server.maxRequestsPerSocket = 0;
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
// The benchmark died without asking for the report: do not outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", (msg) => {
  if (msg === "take") process.send({ records: records.splice(0) });
  if (msg === "report") {
    process.send({ records }, () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  }
});
