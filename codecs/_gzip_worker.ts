/**
 * A Deno Web Worker that gzips what `_workers.ts` posts to it: `{ id, data, level }`
 * in, `{ id, out, input }` (the input's buffer handed back for reuse) or
 * `{ id, error }` back, the bytes transferred both ways.
 *
 * @module
 */

import { gzipSync } from "node:zlib";

interface Scope {
  onmessage:
    | ((
      event: MessageEvent<{ id: number; data: Uint8Array; level?: number }>,
    ) => void)
    | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as Scope;

scope.onmessage = ({ data: { id, data, level } }) => {
  try {
    let out: Uint8Array = level === undefined
      ? gzipSync(data)
      : gzipSync(data, { level });
    // A Buffer may share its ArrayBuffer (Node's pool): transfer a copy then.
    if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) {
      out = out.slice();
    }
    // The input's buffer goes back too, for the next batch's copy.
    const input = data.buffer as ArrayBuffer;
    scope.postMessage({ id, out, input }, [out.buffer as ArrayBuffer, input]);
  } catch (error) {
    scope.postMessage({
      id,
      error: (error as Error)?.message ?? String(error),
    });
  }
};
