// A loopback OTLP/HTTP receiver in its own process that accepts every export and discards it, so
// the benchmark measures what tracing costs the service, not what decoding costs a collector.
// Counts export requests and bytes; on "report" over IPC it sends them back and exits.
import http from "node:http";

let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  req.on("data", (chunk) => (bytes += chunk.length));
  req.on("end", () => {
    requests++;
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
server.keepAliveTimeout = 120_000;
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
// The benchmark died without asking for the report: do not outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", (msg) => {
  if (msg !== "report") return;
  process.send({ requests, bytes }, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
});
