import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { NodeReads } from "./node_reads.ts";
import { FrameReader } from "./framing.ts";

/** A socket as NodeReads sees it: its listeners, and whether it is paused. */
class FakeSocket {
  paused = false;
  pauses = 0;
  readonly listeners = new Map<string, ((arg: never) => void)[]>();
  on(event: string, listener: (arg: never) => void): void {
    this.listeners.set(event, [...this.listeners.get(event) ?? [], listener]);
  }
  emit(event: string, arg?: unknown): void {
    for (const l of this.listeners.get(event) ?? []) l(arg as never);
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
  }
}

function attached(): { reads: NodeReads; socket: FakeSocket } {
  const reads = new NodeReads();
  const socket = new FakeSocket();
  reads.attach(socket, (error) => new Error(`explained: ${error}`));
  return { reads, socket };
}

/** What the runtime does for one read of `bytes`: asks for a buffer, fills it, calls back. */
function arrive(reads: NodeReads, bytes: Uint8Array): boolean {
  const into = reads.onread.buffer();
  const n = Math.min(bytes.length, into.length);
  into.set(bytes.subarray(0, n));
  return reads.onread.callback(n, into);
}

describe("NodeReads", () => {
  test("a waiting read is given to the runtime and filled in place", async () => {
    const { reads } = attached();
    const into = new Uint8Array(8);
    const read = reads.read(into);
    assert.equal(reads.onread.buffer(), into);
    assert.equal(arrive(reads, Uint8Array.of(1, 2, 3)), true);
    assert.equal(await read, 3);
    assert.deepEqual([...into.subarray(0, 3)], [1, 2, 3]);
  });

  test("bytes read with no read waiting are queued, reading paused, then handed out in order", async () => {
    const { reads, socket } = attached();
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    assert.equal(arrive(reads, bytes), false);
    assert.equal(socket.paused, true);
    const first = new Uint8Array(60);
    assert.equal(await reads.read(first), 60);
    assert.deepEqual([...first], [...bytes.subarray(0, 60)]);
    assert.equal(socket.paused, true, "still holding 40 bytes");
    const rest = new Uint8Array(60);
    assert.equal(await reads.read(rest), 40);
    assert.deepEqual([...rest.subarray(0, 40)], [...bytes.subarray(60)]);
    assert.equal(socket.paused, false, "resumed once the queue is empty");
  });

  test("a read begun after the runtime took the spare buffer gets what fits; the rest waits", async () => {
    const { reads, socket } = attached();
    const spare = reads.onread.buffer();
    const into = new Uint8Array(4);
    const read = reads.read(into);
    spare.set([9, 8, 7, 6, 5, 4]);
    assert.equal(reads.onread.callback(6, spare), false);
    assert.equal(await read, 4);
    assert.deepEqual([...into], [9, 8, 7, 6]);
    assert.equal(socket.pauses, 1);
    const more = new Uint8Array(4);
    assert.equal(await reads.read(more), 2);
    assert.deepEqual([...more.subarray(0, 2)], [5, 4]);
  });

  test("with no read waiting, the runtime gets the rest of the last buffer; a read there takes the bytes in place", async () => {
    const { reads } = attached();
    const frame = new Uint8Array(10);
    const first = reads.read(frame);
    assert.equal(arrive(reads, Uint8Array.of(1, 2, 3)), true);
    assert.equal(await first, 3);
    // The runtime asks before the caller reads again: the frame's rest.
    const lent = reads.onread.buffer();
    assert.equal(lent.buffer, frame.buffer);
    assert.equal(lent.byteOffset, 3);
    assert.equal(lent.length, 7);
    lent.set([4, 5]);
    const next = reads.read(frame.subarray(3));
    assert.equal(reads.onread.callback(2, lent), true);
    assert.equal(await next, 2);
    assert.deepEqual([...frame.subarray(0, 5)], [1, 2, 3, 4, 5]);
  });

  test("bytes read into the rest of the last buffer go where the next read asks, when it asks elsewhere", async () => {
    const { reads } = attached();
    const scratch = new Uint8Array(8);
    const first = reads.read(scratch);
    arrive(reads, Uint8Array.of(1, 2));
    assert.equal(await first, 2);
    const lent = reads.onread.buffer(); // scratch from byte 2
    lent.set([7, 8, 9]);
    const other = new Uint8Array(2);
    const next = reads.read(other);
    assert.equal(reads.onread.callback(3, lent), false, "one byte waits");
    assert.equal(await next, 2);
    assert.deepEqual([...other], [7, 8]);
    const last = new Uint8Array(4);
    assert.equal(await reads.read(last), 1);
    assert.equal(last[0], 9);
  });

  test("the end resolves a waiting read, and every later one, with null", async () => {
    const { reads, socket } = attached();
    const read = reads.read(new Uint8Array(4));
    socket.emit("end");
    assert.equal(await read, null);
    assert.equal(await reads.read(new Uint8Array(4)), null);
  });

  test("queued bytes still come out after the end", async () => {
    const { reads, socket } = attached();
    arrive(reads, Uint8Array.of(1, 2));
    socket.emit("end");
    const into = new Uint8Array(4);
    assert.equal(await reads.read(into), 2);
    assert.equal(await reads.read(into), null);
  });

  test("an error rejects the waiting read and later ones, as explained", async () => {
    const { reads, socket } = attached();
    const read = reads.read(new Uint8Array(4));
    socket.emit("error", "ECONNRESET");
    socket.emit("close");
    await assert.rejects(read, { message: "explained: ECONNRESET" });
    await assert.rejects(reads.read(new Uint8Array(4)), {
      message: "explained: ECONNRESET",
    });
  });

  test("a second read while one waits is refused", async () => {
    const { reads } = attached();
    const first = reads.read(new Uint8Array(4));
    await assert.rejects(reads.read(new Uint8Array(4)), /already in progress/);
    arrive(reads, Uint8Array.of(1));
    assert.equal(await first, 1);
  });

  test("a read of zero bytes settles nothing", async () => {
    const { reads } = attached();
    const into = new Uint8Array(4);
    const read = reads.read(into);
    reads.onread.buffer();
    assert.equal(reads.onread.callback(0, into), true);
    arrive(reads, Uint8Array.of(7));
    assert.equal(await read, 1);
  });

  test("a frame reader over it gets frames cut anywhere, large ones read in place", async () => {
    const { reads } = attached();
    const small = new Uint8Array(10).fill(1);
    const large = new Uint8Array(200_000).fill(2);
    const wire = new Uint8Array(8 + small.length + large.length);
    const view = new DataView(wire.buffer);
    view.setInt32(0, small.length);
    wire.set(small, 4);
    view.setInt32(4 + small.length, large.length);
    wire.set(large, 8 + small.length);
    const frames = new FrameReader((into) => reads.read(into), 1 << 20);
    const got: (Uint8Array | null)[] = [];
    const reading = (async () => {
      for (let i = 0; i < 2; i++) got.push(await frames.next());
    })();
    // The runtime reads 30,000 bytes at a time, whatever it is given.
    for (let at = 0; at < wire.length;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const into = reads.onread.buffer();
      const n = Math.min(30_000, into.length, wire.length - at);
      into.set(wire.subarray(at, at + n));
      reads.onread.callback(n, into);
      at += n;
    }
    await reading;
    const [a, b] = got;
    assert.deepEqual(a, small);
    assert.equal(b!.length, large.length);
    assert.ok(b!.every((x) => x === 2));
  });
});
