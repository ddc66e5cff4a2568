// The floor of a gRPC unary call on this machine, for bench/api.ts: a bare node http2 server (no
// sniffing, no service, no interceptors) that reads each request and answers one empty message
// (an empty protobuf message is a valid message of every type) with grpc-status 0 in the
// trailers. FLOOR_API=compat answers through the compat API (Http2ServerRequest/Response, as the
// service does), else through the stream API. Answers over IPC as bench/node-process.mjs does:
//   "usage" → { cpuMs, rss, heapUsed }; "stop" → { stopped: true }, then it exits.
import http2 from "node:http2";

const EMPTY = Buffer.from([0, 0, 0, 0, 0]);
const server = http2.createServer();
if (process.env.FLOOR_API === "compat") {
  server.on("request", (req, res) => {
    req.on("data", () => undefined);
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/grpc+proto" });
      res.addTrailers({ "grpc-status": "0" });
      res.end(EMPTY);
    });
  });
} else {
  server.on("stream", (stream) => {
    stream.on("data", () => undefined);
    stream.on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(EMPTY);
    });
  });
}
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port, startedMs: 0, leadingMs: 0 }));
process.on("message", (message) => {
  if (message === "usage") {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    process.send({ cpuMs: (cpu.user + cpu.system) / 1000, rss: mem.rss, heapUsed: mem.heapUsed });
  } else if (message === "stop") {
    server.close();
    process.send({ stopped: true }, () => process.exit(0));
  }
});
