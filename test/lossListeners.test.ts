// LossListeners: the onLost listeners shared by fileStore's lock watch and redisStore's lease.
import { expect, it } from "vitest";
import { LossListeners } from "../src/lossListeners";

it("tells each listener once, when lost; a listener that throws does not keep the others from hearing", () => {
  const listeners = new LossListeners();
  const heard: string[] = [];
  listeners.add(() => {
    throw new Error("mine");
  });
  listeners.add((error) => heard.push(`a ${error.message}`));
  const remove = listeners.add((error) => heard.push(`b ${error.message}`));
  remove();
  listeners.lose(new Error("gone"));
  listeners.lose(new Error("again"));
  expect(heard).toEqual(["a gone"]);
});

it("a listener added after the loss hears the first loss on the next microtask, unless removed first", async () => {
  const listeners = new LossListeners();
  listeners.lose(new Error("gone"));
  listeners.lose(new Error("later"));
  const heard: string[] = [];
  listeners.add((error) => heard.push(error.message));
  listeners.add(() => heard.push("removed"))();
  expect(heard).toEqual([]);
  await Promise.resolve();
  expect(heard).toEqual(["gone"]);
});

it("after close (the release), no listener hears anything, old or new", async () => {
  const listeners = new LossListeners();
  const heard: string[] = [];
  listeners.add(() => heard.push("old"));
  listeners.close();
  listeners.lose(new Error("gone"));
  listeners.add(() => heard.push("new"));
  await Promise.resolve();
  expect(heard).toEqual([]);
});
