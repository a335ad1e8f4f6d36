/**
 * A Deno Web Worker that gzips what `_workers.ts` posts to it: `{ id, data }`
 * in, `{ id, out }` or `{ id, error }` back, the bytes transferred both ways.
 *
 * @module
 */

import { gzipSync } from "node:zlib";

interface Scope {
  onmessage:
    | ((event: MessageEvent<{ id: number; data: Uint8Array }>) => void)
    | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as Scope;

scope.onmessage = ({ data: { id, data } }) => {
  try {
    let out: Uint8Array = gzipSync(data);
    // A Buffer may share its ArrayBuffer (Node's pool): transfer a copy then.
    if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) {
      out = out.slice();
    }
    scope.postMessage({ id, out }, [out.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({
      id,
      error: (error as Error)?.message ?? String(error),
    });
  }
};
