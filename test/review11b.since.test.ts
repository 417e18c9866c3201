// Review 11b #13 (cosmetics): `rxtrade report --since 0` was refused though the help says epoch
// ms works, and a lowercase `2023-03-01t12:00z` was refused (ISO 8601's letters are either case).
import { describe, expect, it } from "vitest";
import { parseSince } from "../src/cli/reportCommand";

describe("review 11b #13: rxtrade report --since", () => {
  it("0 is epoch ms: every trade", () => {
    expect(parseSince("0")).toBe(0);
  });

  it("lowercase t and z read as T and Z", () => {
    expect(parseSince("2023-03-01t12:00z")).toBe(Date.parse("2023-03-01T12:00Z"));
    expect(parseSince("2023-03-01t12:00:30+01:00")).toBe(Date.parse("2023-03-01T11:00:30Z"));
  });

  it("13-digit epoch ms as before; a short number is refused with what it reads as", () => {
    expect(parseSince("1678276800000")).toBe(1678276800000);
    expect(() => parseSince("1678276800")).toThrow(
      "--since 1678276800 reads as 1970-01-20T10:11:16.800Z in epoch ms (seconds, or a year?); give epoch ms (e.g. 1678276800000), 0 for every trade, or ISO 8601 in UTC, e.g. --since 2023-03-08T12:00Z",
    );
  });
});
