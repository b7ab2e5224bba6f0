/**
 * Reading a body with a size limit, whatever its Content-Length says: the helper's request bodies (app.ts) and the
 * answers of the merchant's order lookup (order-resolver.ts).
 */
import type { Readable } from 'node:stream';

/** A Web stream's chunks; past `maxBytes` the stream is cancelled and `tooLarge()` thrown. */
export async function readBoundedStream(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array[]> {
  if (!stream) return [];
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return chunks;
}

/**
 * A Node request's chunks, read from the socket's stream itself (cheaper than a Fetch `Request.body`). Past
 * `maxBytes` it stops reading without destroying the stream — that would cut the socket before the 413 is sent; the
 * Node adapter drains, or closes, what is left after the answer.
 */
export async function readBoundedNodeStream(incoming: Readable, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of incoming.iterator({ destroyOnReturn: false })) {
    const bytes = chunk as Buffer;
    size += bytes.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(bytes);
  }
  return chunks;
}
