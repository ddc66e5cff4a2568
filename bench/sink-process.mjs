// A loopback HTTP sink in its own process, so that the service under test keeps its event loop.
// Records (job id, scheduled slot, arrival time) of every request; on "report" over IPC it sends
// them back and exits, on "take" it sends what it has so far and forgets it. Arrival time is
// Date.now() here: the same wall clock as the scheduler's.
//
// Two servers (BENCH_SINK): "lean" (the default), a minimal HTTP/1.1 responder on node:net that
// stamps a request when the chunk completing its head is read, and "node", node:http, which stamps
// it in its request handler. node:http spends some 50 µs more of this process's CPU per request before
// that handler runs; when a slot's requests arrive together they queue behind each other's
// parsing here, and that queue would be counted as the scheduler's lateness.
import http from "node:http";
import net from "node:net";

const records = [];
const RESPONSE = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nkeep-alive: timeout=120\r\n\r\nok";

/** The value of header `name` (lower case) in a request head, or "". */
function header(head, lowerHead, name) {
  const at = lowerHead.indexOf(`\r\n${name}:`);
  if (at < 0) return "";
  const start = at + name.length + 3;
  const end = head.indexOf("\r\n", start);
  return head.slice(start, end < 0 ? undefined : end).trim();
}

/** Reads requests off a connection as they come (heads, then Content-Length bodies skipped) and answers each. */
function leanConnection(socket) {
  socket.setNoDelay(true);
  socket.setEncoding("latin1");
  let buffered = "";
  let bodyLeft = 0;
  socket.on("data", (chunk) => {
    const arrival = Date.now();
    buffered += chunk;
    let answers = "";
    for (;;) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, buffered.length);
        buffered = buffered.slice(n);
        bodyLeft -= n;
        if (bodyLeft > 0) break;
      }
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) break;
      const head = buffered.slice(0, end);
      const lower = head.toLowerCase();
      buffered = buffered.slice(end + 4);
      bodyLeft = Number(header(head, lower, "content-length") || 0);
      records.push([header(head, lower, "x-cronmesh-job-id"), header(head, lower, "x-cronmesh-scheduled-at"), arrival]);
      answers += RESPONSE;
    }
    if (answers) socket.write(answers, "latin1");
  });
  socket.on("error", () => undefined);
}

function nodeServer() {
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
  return server;
}

const server = process.env.BENCH_SINK === "node" ? nodeServer() : net.createServer(leanConnection);
// BENCH_SINK_PORT: a fixed port, for jobs stored once with their target URL (bench:million).
server.listen(Number(process.env.BENCH_SINK_PORT ?? 0), "127.0.0.1", () => process.send({ port: server.address().port }));
// The benchmark died without asking for the report: do not outlive it.
process.on("disconnect", () => process.exit(0));
process.on("message", (msg) => {
  if (msg === "take") process.send({ records: records.splice(0) });
  if (msg === "report") process.send({ records }, () => process.exit(0));
});
