// Issue 13 review, fix 9: the /api/events ids started again at 1 in a new process, so a
// dashboard reconnecting with the Last-Event-ID of the old process got no backlog (or a part
// of it). An id is now `<run>-<n>` (the stream's start, epoch ms): an id of another run gets the
// whole backlog; one of this run, the events after it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Subject } from "rxjs";
import { afterEach, expect, it } from "vitest";
import type { ServiceEvent } from "rxtrade/service";
import { ServiceEventStream } from "../src/service/serviceEventStream";

const servers: Server[] = [];
const streams: ServiceEventStream[] = [];
afterEach(() => {
  for (const stream of streams.splice(0)) stream.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(stream: ServiceEventStream): Promise<string> {
  const server = createServer(stream.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** The ids and pairs of the first `count` events a client gets. */
async function read(url: string, count: number, lastEventId?: string): Promise<Array<{ id: string; pair: string }>> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal, headers: lastEventId === undefined ? {} : { "last-event-id": lastEventId } });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const frames = () => [...text.matchAll(/^id: (\S+)\ndata: (.*)$/gm)].map((m) => ({ id: m[1] as string, pair: (JSON.parse(m[2] as string) as { pair: string }).pair }));
  const deadline = Date.now() + 3000;
  while (frames().length < count && Date.now() < deadline) {
    const next = await Promise.race([reader.read(), new Promise<undefined>((resolve) => setTimeout(resolve, 200))]);
    if (next?.value !== undefined) text += decoder.decode(next.value, { stream: true });
  }
  controller.abort();
  return frames();
}

const event = (symbol: string): ServiceEvent => ({ kind: "recovered", at: 0, pair: `${symbol}:s`, symbol, strategy: "s" });

it("an id of another run (a restarted process) gets the whole backlog; an id of this run, what came after it", async () => {
  const before = new Subject<ServiceEvent>();
  const old = new ServiceEventStream(before, { heartbeatMs: 60_000 });
  streams.push(old);
  for (const symbol of ["A1", "A2", "A3", "A4", "A5"]) before.next(event(symbol));
  const seen = await read(await serve(old), 5);
  expect(seen.map((frame) => frame.pair)).toEqual(["A1:s", "A2:s", "A3:s", "A4:s", "A5:s"]);
  expect(seen[0]?.id).toMatch(/^\d+-1$/);
  old.close();

  // The process restarts (a later start): its events are numbered from 1 again.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const after = new Subject<ServiceEvent>();
  const fresh = new ServiceEventStream(after, { heartbeatMs: 60_000 });
  streams.push(fresh);
  for (const symbol of ["B1", "B2", "B3", "B4"]) after.next(event(symbol));
  const url = await serve(fresh);
  // The dashboard reconnects with the old process's third id: all of the new one's events.
  const reconnected = await read(url, 4, seen[2]?.id);
  expect(reconnected.map((frame) => frame.pair)).toEqual(["B1:s", "B2:s", "B3:s", "B4:s"]);
  expect(reconnected[0]?.id.split("-")[0]).not.toBe(seen[0]?.id.split("-")[0]);
  // With an id of this run: what came after it.
  expect((await read(url, 2, reconnected[1]?.id)).map((frame) => frame.pair)).toEqual(["B3:s", "B4:s"]);
});
