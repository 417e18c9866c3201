// A process holding a redisStore lease, for test/redis.process.test.ts: it locks `key`, writes
// it every 50 ms and prints one line per event ("locked <token>", "wrote <n>", "lost <name>",
// "refused <name>: <message>"); at its first refused write it exits 0.
import { redisStore } from "rxtrade/redis";

const { url, prefix, key, leaseMs } = JSON.parse(process.argv[2] ?? "{}") as { url: string; prefix: string; key: string; leaseMs: number };
const say = (line: string) => process.stdout.write(`${line}\n`);
const store = redisStore({ url }, { prefix, leaseMs, callTimeoutMs: 5_000, onError: (error) => say(`reported ${error.name}`) });
const release = await store.lock(key);
release.onLost((error) => say(`lost ${error.name}`));
await store.write(key, { by: "child", n: 0 });
say(`locked ${release.token}`);
let n = 0;
setInterval(() => {
  const mine = ++n;
  store.write(key, { by: "child", n: mine }).then(
    () => say(`wrote ${mine}`),
    (error: Error) => {
      say(`refused ${error.name}: ${error.message}`);
      process.exit(0);
    },
  );
}, 50);
