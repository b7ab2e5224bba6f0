/**
 * The floor for the helper's unavoidable work, hand-written on bare `node:http`, no framework, no validation:
 *   - POST …/sessions: one SQLite row written before the provider call (as crash recovery needs), one call to the
 *     same fake provider (node:http, keep-alive agent, like the helper), one update with its answer, a small JSON reply;
 *   - POST …/webhooks/…: the signature recomputed (one hash), the raw body stored and the session updated in one
 *     transaction, one status query to the fake provider (both providers' callbacks are confirmed by one), "OK".
 * What the helper costs beyond this is its own; what this costs beyond bare node:http is the work itself.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import http, { createServer } from 'node:http';
import { listenAndAnnounce } from './listen.js';

const agent = new http.Agent({ keepAlive: true });
function call(url: string, method: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const request = http.request(url, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

const providerUrl = process.env.BENCH_PROVIDER_URL;
const databasePath = process.env.BENCH_DATABASE_PATH;
if (!providerUrl || !databasePath) throw new Error('BENCH_PROVIDER_URL and BENCH_DATABASE_PATH are required');

const db = new Database(databasePath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, order_id TEXT NOT NULL, status TEXT NOT NULL, deal_id TEXT, payment_url TEXT, created_at INTEGER NOT NULL)');
db.exec('CREATE INDEX IF NOT EXISTS sessions_deal ON sessions (deal_id)');
db.exec('CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ref TEXT, raw TEXT NOT NULL, created_at INTEGER NOT NULL)');
const insertEvent = db.prepare('INSERT INTO events (ref, raw, created_at) VALUES (?, ?, ?)');
const markPaid = db.prepare("UPDATE sessions SET status = 'paid' WHERE deal_id = ?");
const applyCallback = db.transaction((ref: string, raw: string) => {
  insertEvent.run(ref, raw, Date.now());
  markPaid.run(ref);
});
const insert = db.prepare("INSERT INTO sessions (id, order_id, status, created_at) VALUES (?, ?, 'creating', ?)");
const update = db.prepare("UPDATE sessions SET status = 'created', deal_id = ?, payment_url = ? WHERE id = ?");

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (request.url?.includes('/webhooks/')) {
          const ref = /"deal_id":"([^"]+)"/.exec(raw)?.[1] ?? new URLSearchParams(raw).get('orderId') ?? '';
          createHash(raw.startsWith('{') ? 'md5' : 'sha256').update(raw).digest('hex');
          applyCallback(ref, raw);
          await call(`${providerUrl}/api/v1/external/deals/${encodeURIComponent(ref)}`, 'GET');
          response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2 });
          response.end('OK');
          return;
        }
        const body = JSON.parse(raw) as { orderId: string };
        const id = `cs_${randomBytes(12).toString('base64url')}`;
        insert.run(id, body.orderId, Date.now());
        const answer = await call(`${providerUrl}/api/v1/private/deals/`, 'POST', JSON.stringify({ cassa_id: 'bench', amount: '650', currency: 'RUB', order_id: id }));
        const deal = JSON.parse(answer) as { payload: { id: string; payment_url: string } };
        update.run(deal.payload.id, deal.payload.payment_url, id);
        const text = JSON.stringify({ id, status: 'created', paymentUrl: deal.payload.payment_url });
        response.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        response.end(text);
      } catch (error) {
        response.writeHead(500);
        response.end(String(error));
      }
    })();
  });
});
listenAndAnnounce(server);
