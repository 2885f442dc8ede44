// The api benchmark's baseline: fastify with the same options as Junction's
// API (api/server.ts: no request log, the same body limit and request ids)
// and one empty route, served the same way as Junction's Unix socket (a node
// http server handing requests to fastify's router). Started in the lab's
// router namespace like Junction: `node --import tsx empty-server.ts <socket>`.
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, unlinkSync } from 'node:fs';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: empty-server.ts <socket path>\n');
  process.exit(2);
}
const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, genReqId: () => randomUUID() });
app.get('/empty', async () => ({}));
await app.ready();
if (existsSync(socketPath)) unlinkSync(socketPath);
const server = createServer((req, res) => app.routing(req, res));
server.listen(socketPath, () => process.stderr.write(`listening on ${socketPath}\n`));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
