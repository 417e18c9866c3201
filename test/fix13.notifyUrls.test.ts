// Issue 13 review, fix 3: two webhooks whose URLs differ only in their query string or
// credentials are two webhooks (they were refused with an ArgumentRangeError, as the same
// redacted label: a stack trace from rxtrade run); the same URL twice is refused — by
// rxtrade run as a usage error naming --notify (exit 2, no stack), compared as URLs.
import { expect, it } from "vitest";
import { setLogger } from "rxtrade";
import { ArgumentRangeError, webhookNotifier } from "rxtrade/service";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

it("URLs that differ only in query or credentials are two webhooks, with distinct labels", async () => {
  const notify = webhookNotifier({
    webhooks: ["http://127.0.0.1:9/hook?key=a", "http://127.0.0.1:9/hook?key=b", "http://u:one@127.0.0.1:9/x", "http://u:two@127.0.0.1:9/x"],
    logger: false,
  });
  expect(notify.stats().map((stats) => stats.webhook)).toEqual(["http://127.0.0.1:9/hook?***", "http://127.0.0.1:9/hook?*** #2", "http://***@127.0.0.1:9/x", "http://***@127.0.0.1:9/x #2"]);
  await notify.close();
});

it("the same URL twice is refused, naming both entries (credentials and query hidden)", () => {
  const twice = () => webhookNotifier({ webhooks: ["http://127.0.0.1:9/hook?key=a", "http://127.0.0.1:9/hook?key=a"], logger: false });
  expect(twice).toThrow(ArgumentRangeError);
  expect(twice).toThrow('options.webhooks[1] is "http://127.0.0.1:9/hook?***" again (as options.webhooks[0]): each webhook once');
});

it("rxtrade run: the same --notify URL twice (as URLs: the host's case aside) is exit 2 naming the flag, no stack", async () => {
  let stderr = "";
  const terminal = new Terminal({ write: () => true }, { write: (text: string) => ((stderr += text), true) });
  try {
    expect(await main(["run", "missing.json", "--notify", "https://HOOKS.example.com/a?k=1", "--notify", "https://hooks.example.com/a?k=1"], terminal)).toBe(2);
    expect(stderr).toBe(['rxtrade run: --notify "https://hooks.example.com/a?***" is given twice: give each webhook once', "Run 'rxtrade run --help' for the flags.", ""].join("\n"));
  } finally {
    setLogger({ warn: () => {}, error: () => {} });
  }
});
