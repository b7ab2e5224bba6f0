/**
 * The throughput floor: a bare `node:http` server that reads the request body and answers a small JSON, the least
 * any Node HTTP endpoint can cost. Measured with the same autocannon settings and requests as the helper.
 */
import { createServer } from 'node:http';
import { listenAndAnnounce } from './listen.js';

const body = JSON.stringify({ ok: true, id: 'bench' });
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(request.method === 'POST' ? 201 : 200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
listenAndAnnounce(server);
