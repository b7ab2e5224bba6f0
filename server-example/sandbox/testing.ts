/**
 * Test kit for code that talks to the sandbox: starts it on a real local port and receives its webhooks on a real
 * local HTTP server (raw bodies kept, so signatures can be checked byte for byte). Used by the sandbox's own tests;
 * usable by any server test.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createSandboxApp, type SandboxOptions } from './index.js';

export interface RunningSandbox {
  /** `http://127.0.0.1:<port>`: the sandbox's publicUrl. */
  url: string;
  app: Hono;
  /** The sandbox's clock; `advance` moves it. */
  clock: { now: number; advance(ms: number): void };
  /** Replaces the app with a fresh one on the same URL: the memory of a restarted helper process. */
  restart(): void;
  close(): Promise<void>;
}

export async function startSandbox(options: Partial<SandboxOptions> = {}): Promise<RunningSandbox> {
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  let app: Hono | undefined;
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: (request) => (app as Hono).fetch(request), port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const make = () => createSandboxApp({ publicUrl: url, now: () => clock.now, sweepIntervalMs: 0, autoDelayMs: 0, log: () => {}, ...options });
  app = make();
  const running: RunningSandbox = {
    url,
    app,
    clock,
    restart() {
      app = make();
      running.app = app;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
  return running;
}

/**
 * Registers the `node:test` hooks of a test file that runs all its tests against one sandbox: a webhook receiver
 * and a sandbox started before them (handed to `bind`), both closed after them.
 */
export function useSandbox(bind: (started: { sandbox: RunningSandbox; hooks: WebhookReceiver }) => void): void {
  let sandbox: RunningSandbox | undefined;
  let hooks: WebhookReceiver | undefined;
  before(async () => {
    hooks = await startWebhookReceiver();
    // The receiver stands in for the helper: the only address the sandbox calls back.
    sandbox = await startSandbox({ callbackOrigins: [hooks.url] });
    bind({ sandbox, hooks });
  });
  after(async () => {
    await sandbox?.close();
    await hooks?.close();
  });
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  /** How the receiver answers (default 200 `OK`). */
  respond: (request: ReceivedRequest) => { status: number; body: string };
  /** Resolves when at least `count` requests have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const waiters: Array<() => void> = [];
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    respond: () => ({ status: 200, body: 'OK' }),
    waitFor(count, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (receiver.received.length >= count) {
            clearTimeout(timer);
            resolve(receiver.received);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`expected ${count} webhook(s), got ${receiver.received.length}`)), timeoutMs);
        if (!check()) waiters.push(() => void check());
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody: Buffer.concat(chunks).toString('utf8'),
      };
      receiver.received.push(request);
      const answer = receiver.respond(request);
      res.writeHead(answer.status, { 'Content-Type': 'text/plain' }).end(answer.body);
      for (const waiter of waiters.splice(0)) waiter();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** The hidden fields and the form action of a hosted page, to submit a button as a browser would. */
export function pageForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error('the page has no action form');
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] as string] = (match[2] as string).replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  }
  return { action: action.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))), fields };
}

/** Loads a hosted page and presses one of its `data-sandbox-action` buttons; returns the action's response (not followed). */
export async function pressButton(pageUrl: string, action: string, extra: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  const page = await fetch(pageUrl, init);
  const html = await page.text();
  if (!html.includes(`data-sandbox-action="${action}"`)) throw new Error(`the page has no ${action} button`);
  const form = pageForm(html);
  return fetch(form.action, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form.fields, action, ...extra }),
    redirect: 'manual',
  });
}
