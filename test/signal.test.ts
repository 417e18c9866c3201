import { describe, expect, it } from "vitest";
import { createSignal, getDefaultConfig, InvalidSignalError, signalProblems, type SignalDto, type StreamIdentity } from "rxtrade";

const config = getDefaultConfig(); // TP >= 0.5 %, 0.5 % <= SL <= 20 %, lifetime <= 1440 min
const identity: StreamIdentity = { symbol: "BTCUSDT", strategyName: "s1", exchangeName: "ex1" };
const NOW = 1_700_000_000_000;
const newId = () => "generated-id";

const longDto: SignalDto = { position: "long", priceTakeProfit: 110, priceStopLoss: 95, minuteEstimatedTime: 60 };
const shortDto: SignalDto = { position: "short", priceTakeProfit: 90, priceStopLoss: 105, minuteEstimatedTime: 60 };

function create(dto: unknown, currentPrice = 100) {
  return createSignal(dto, currentPrice, NOW, config, identity, newId);
}

/** Runs createSignal, expects an InvalidSignalError and returns it. */
function invalid(dto: unknown, currentPrice = 100): InvalidSignalError {
  try {
    create(dto, currentPrice);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSignalError);
    return error as InvalidSignalError;
  }
  throw new Error("expected an InvalidSignalError, nothing was thrown");
}

describe("createSignal: a valid immediate signal", () => {
  it("builds an opened row at the current price, with the identity and now", () => {
    const state = create({ ...longDto, id: "sig-1", note: "breakout" }, 100);
    expect(state).toStrictEqual({
      status: "opened",
      signal: {
        id: "sig-1",
        position: "long",
        priceOpen: 100,
        priceTakeProfit: 110,
        priceStopLoss: 95,
        minuteEstimatedTime: 60,
        note: "breakout",
        symbol: "BTCUSDT",
        strategyName: "s1",
        exchangeName: "ex1",
        scheduledAt: NOW,
        pendingAt: NOW,
      },
    });
  });

  it("{ priceOpen: undefined } is immediate: opened at the current price", () => {
    const state = create({ ...shortDto, priceOpen: undefined }, 100);
    expect(state.status).toBe("opened");
    expect(state.signal.priceOpen).toBe(100);
    expect(state.signal.position).toBe("short");
  });

  it("{ id: undefined } gets the id from newId", () => {
    expect(create({ ...longDto, id: undefined }).signal.id).toBe("generated-id");
    expect(create(longDto).signal.id).toBe("generated-id");
  });

  it('{ note: undefined } gets note ""', () => {
    expect(create({ ...longDto, note: undefined }).signal.note).toBe("");
    expect(create(longDto).signal.note).toBe("");
  });
});

describe("createSignal: a valid limit signal", () => {
  it("builds a scheduled row with the given priceOpen and scheduledAt = pendingAt = now", () => {
    const state = create({ ...longDto, priceOpen: 99, priceTakeProfit: 105, priceStopLoss: 97 }, 100);
    expect(state.status).toBe("scheduled");
    expect(state.signal).toMatchObject({
      priceOpen: 99,
      priceTakeProfit: 105,
      priceStopLoss: 97,
      symbol: "BTCUSDT",
      strategyName: "s1",
      exchangeName: "ex1",
      scheduledAt: NOW,
      pendingAt: NOW,
    });
  });

  it("a short limit entry above the current price is scheduled", () => {
    const state = create({ ...shortDto, priceOpen: 101, priceTakeProfit: 95, priceStopLoss: 104 }, 100);
    expect(state.status).toBe("scheduled");
    expect(state.signal.priceOpen).toBe(101);
  });
});

describe("createSignal: rejected signals name the field and its value", () => {
  it.each([
    [42, "got 42"],
    ["buy", 'got "buy"'],
    [[1, 2], "got [1,2]"],
    [undefined, "got undefined"],
    [true, "got true"],
  ])("non-object dto %o", (dto, text) => {
    const error = invalid(dto);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
  });

  it.each([
    ["sideways", 'position ("sideways")'],
    [undefined, "position (undefined)"],
    ["LONG", 'position ("LONG")'],
  ])("position %o", (position, text) => {
    const error = invalid({ ...longDto, position });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
  });

  const badPrices: Array<[unknown, string]> = [
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [0, "0"],
    [-1, "-1"],
    ["110", '"110"'],
  ];
  it.each(
    (["priceTakeProfit", "priceStopLoss", "priceOpen"] as const).flatMap((field) =>
      badPrices.map(([value, shown]) => [field, value, shown] as const),
    ),
  )("%s = %o", (field, value, shown) => {
    const error = invalid({ ...longDto, [field]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(`${field} (${shown})`);
    expect(error.message).toContain(`${field} (${shown})`);
  });

  it.each([
    // immediate long at current price 100: TP must be above, SL below the current price
    ["long TP = current", { ...longDto, priceTakeProfit: 100 }, "priceTakeProfit (100) must be above the current price (100)"],
    ["long TP < current", { ...longDto, priceTakeProfit: 99 }, "priceTakeProfit (99) must be above the current price (100)"],
    ["long SL = current", { ...longDto, priceStopLoss: 100 }, "priceStopLoss (100) must be below the current price (100)"],
    ["long SL > current", { ...longDto, priceStopLoss: 101 }, "priceStopLoss (101) must be below the current price (100)"],
    ["short TP = current", { ...shortDto, priceTakeProfit: 100 }, "priceTakeProfit (100) must be below the current price (100)"],
    ["short TP > current", { ...shortDto, priceTakeProfit: 101 }, "priceTakeProfit (101) must be below the current price (100)"],
    ["short SL = current", { ...shortDto, priceStopLoss: 100 }, "priceStopLoss (100) must be above the current price (100)"],
    ["short SL < current", { ...shortDto, priceStopLoss: 99 }, "priceStopLoss (99) must be above the current price (100)"],
  ])("immediate: %s", (_name, dto, text) => {
    const error = invalid(dto, 100);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
  });

  it.each([
    // long TP 110 / SL 95; the market has moved to 94 (below SL) or 120 (above TP)
    [94, ["priceStopLoss (95) must be below the current price (94) for a long signal"]],
    [
      120,
      [
        "priceTakeProfit (110) must be above the current price (120) for a long signal",
        "priceStopLoss (95) is 20.8333 % from the current price (120); it must be at most CC_MAX_STOPLOSS_DISTANCE_PERCENT (20 %) away",
      ],
    ],
  ])("immediate: current price %s outside (SL, TP) is rejected, naming the current price", (current, problems) => {
    const error = invalid(longDto, current);
    expect(error.problems).toStrictEqual(problems);
  });

  it.each([
    ["long TP below priceOpen", { ...longDto, priceOpen: 100, priceTakeProfit: 99 }, 102, "priceTakeProfit (99) must be above priceOpen (100)"],
    ["long SL above priceOpen", { ...longDto, priceOpen: 100, priceStopLoss: 101 }, 102, "priceStopLoss (101) must be below priceOpen (100)"],
    ["short TP above priceOpen", { ...shortDto, priceOpen: 100, priceTakeProfit: 101 }, 98, "priceTakeProfit (101) must be below priceOpen (100)"],
    ["short SL below priceOpen", { ...shortDto, priceOpen: 100, priceStopLoss: 99 }, 98, "priceStopLoss (99) must be above priceOpen (100)"],
  ])("limit: %s", (_name, dto, current, text) => {
    const error = invalid(dto, current);
    expect(error.message).toContain(text);
  });

  it.each([
    ["long, current at SL", { ...longDto, priceOpen: 99 }, 95, "the current price (95)"],
    ["long, current below SL", { ...longDto, priceOpen: 99 }, 94, "the current price (94)"],
    ["short, current at SL", { ...shortDto, priceOpen: 101 }, 105, "the current price (105)"],
  ])("limit: %s is rejected (would be cancelled at once)", (_name, dto, current, text) => {
    const error = invalid(dto, current);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
    expect(error.message).toContain("priceStopLoss (");
  });

  it.each([
    ["long TP 0.4 % away", { ...longDto, priceTakeProfit: 100.4 }, "priceTakeProfit (100.4) is 0.4 % from the current price (100)"],
    ["short TP 0.4 % away", { ...shortDto, priceTakeProfit: 99.6 }, "priceTakeProfit (99.6) is 0.4 % from the current price (100)"],
    ["long limit TP 0.2 % from priceOpen", { ...longDto, priceOpen: 99, priceTakeProfit: 99.198, priceStopLoss: 97 }, "priceTakeProfit (99.198) is 0.2 % from priceOpen (99)"],
  ])("TP distance below CC_MIN_TAKEPROFIT_DISTANCE_PERCENT: %s", (_name, dto, text) => {
    const error = invalid(dto, 100);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
    expect(error.message).toContain("CC_MIN_TAKEPROFIT_DISTANCE_PERCENT (0.5 %)");
  });

  it.each([
    ["long SL 0.4 % away", { ...longDto, priceStopLoss: 99.6 }, "priceStopLoss (99.6) is 0.4 % from the current price (100)", "CC_MIN_STOPLOSS_DISTANCE_PERCENT (0.5 %)"],
    ["short SL 0.4 % away", { ...shortDto, priceStopLoss: 100.4 }, "priceStopLoss (100.4) is 0.4 % from the current price (100)", "CC_MIN_STOPLOSS_DISTANCE_PERCENT (0.5 %)"],
    ["long SL 21 % away", { ...longDto, priceStopLoss: 79 }, "priceStopLoss (79) is 21 % from the current price (100)", "CC_MAX_STOPLOSS_DISTANCE_PERCENT (20 %)"],
    ["short SL 21 % away", { ...shortDto, priceStopLoss: 121 }, "priceStopLoss (121) is 21 % from the current price (100)", "CC_MAX_STOPLOSS_DISTANCE_PERCENT (20 %)"],
  ])("SL distance out of range: %s", (_name, dto, text, limit) => {
    const error = invalid(dto, 100);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
    expect(error.message).toContain(limit);
  });

  it.each([
    [0, "minuteEstimatedTime (0)"],
    [1.5, "minuteEstimatedTime (1.5)"],
    [-5, "minuteEstimatedTime (-5)"],
    [1441, "minuteEstimatedTime (1441) must be <= CC_MAX_SIGNAL_LIFETIME_MINUTES (1440)"],
    ["60", 'minuteEstimatedTime ("60")'],
    [undefined, "minuteEstimatedTime (undefined)"],
  ])("minuteEstimatedTime %o", (minutes, text) => {
    const error = invalid({ ...longDto, minuteEstimatedTime: minutes });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(text);
  });

  it("minuteEstimatedTime 1440 (= CC_MAX_SIGNAL_LIFETIME_MINUTES) is accepted", () => {
    expect(create({ ...longDto, minuteEstimatedTime: 1440 }).signal.minuteEstimatedTime).toBe(1440);
  });

  it("reports every broken field in ONE error", () => {
    const dto = { position: "long", priceTakeProfit: Number.NaN, priceStopLoss: -1, minuteEstimatedTime: 0, id: 7 };
    const error = invalid(dto);
    expect(error.problems).toHaveLength(4);
    expect(error.message).toContain("id (7)");
    expect(error.message).toContain("priceTakeProfit (NaN)");
    expect(error.message).toContain("priceStopLoss (-1)");
    expect(error.message).toContain("minuteEstimatedTime (0)");
    expect(signalProblems(dto, 100, config)).toStrictEqual(error.problems);
  });

  it("reports wrong side and too-close distances together", () => {
    // long at 100: TP 100.2 (0.2 %, too close), SL 101 (wrong side), lifetime 2000 (> 1440)
    const error = invalid({ ...longDto, priceTakeProfit: 100.2, priceStopLoss: 101, minuteEstimatedTime: 2000 });
    expect(error.problems).toHaveLength(3);
  });

  it("carries the dto, the identity and a stable name", () => {
    const dto = { ...longDto, priceTakeProfit: 90 };
    const error = invalid(dto);
    expect(error.name).toBe("InvalidSignalError");
    expect(error.signal).toBe(dto);
    expect(error.symbol).toBe("BTCUSDT");
    expect(error.strategyName).toBe("s1");
    expect(error.message).toContain("s1");
  });
});

describe("createSignal: boundaries exactly at the limits are accepted", () => {
  it.each([
    ["long TP exactly 0.5 % (100 -> 100.5)", { ...longDto, priceTakeProfit: 100.5 }, 100],
    ["short TP exactly 0.5 % (100 -> 99.5)", { ...shortDto, priceTakeProfit: 99.5 }, 100],
    ["long TP exactly 0.5 % (42000 -> 42210)", { ...longDto, priceTakeProfit: 42210, priceStopLoss: 41000 }, 42000],
    ["long SL exactly 0.5 % (100 -> 99.5)", { ...longDto, priceStopLoss: 99.5 }, 100],
    ["short SL exactly 0.5 % (100 -> 100.5)", { ...shortDto, priceStopLoss: 100.5 }, 100],
    ["long SL exactly 20 % (100 -> 80)", { ...longDto, priceStopLoss: 80 }, 100],
    ["short SL exactly 20 % (100 -> 120)", { ...shortDto, priceStopLoss: 120 }, 100],
    // Same decimal boundaries at other price levels (floating point must not move them).
    ["long TP exactly 0.5 % (2 -> 2.01)", { ...longDto, priceTakeProfit: 2.01, priceStopLoss: 1.9 }, 2],
    ["short TP exactly 0.5 % (9 -> 8.955)", { ...shortDto, priceTakeProfit: 8.955, priceStopLoss: 9.5 }, 9],
    ["long SL exactly 20 % (3 -> 2.4)", { ...longDto, priceTakeProfit: 3.3, priceStopLoss: 2.4 }, 3],
  ])("%s", (_name, dto, current) => {
    expect(signalProblems(dto, current, config)).toStrictEqual([]);
    expect(create(dto, current).status).toBe("opened");
  });
});

describe("createSignal: a signal object with getters (issue 9, item 8)", () => {
  it("a getter that throws is an InvalidSignalError naming the field, not a raw Error", () => {
    const dto = {
      ...longDto,
      get priceStopLoss(): number {
        throw new TypeError("feed closed");
      },
    };
    const error = invalid(dto);
    expect(error.problems).toStrictEqual([
      "priceStopLoss could not be read (its getter threw TypeError: feed closed); return a signal with plain data properties",
    ]);
    expect(error.signal).toBe(dto);
    expect(error.message).toContain("priceStopLoss could not be read");
    expect(signalProblems(dto, 100, config)).toStrictEqual(error.problems);
  });

  it("every field whose getter throws is named", () => {
    const dto = Object.defineProperties({ ...longDto }, {
      position: { get: () => { throw new Error("a"); } },
      minuteEstimatedTime: { get: () => { throw "not an Error"; } },
    });
    expect(invalid(dto).problems).toStrictEqual([
      "position could not be read (its getter threw Error: a); return a signal with plain data properties",
      'minuteEstimatedTime could not be read (its getter threw "not an Error"); return a signal with plain data properties',
    ]);
  });

  it("reads each field exactly once", () => {
    const reads: Record<string, number> = {};
    const dto = new Proxy({ ...longDto, id: "p1", note: "n" } as Record<string, unknown>, {
      get(target, key) {
        if (typeof key === "string") reads[key] = (reads[key] ?? 0) + 1;
        return target[key as string];
      },
    });
    expect(create(dto).signal.priceTakeProfit).toBe(110);
    expect(reads).toStrictEqual({
      id: 1,
      position: 1,
      priceOpen: 1,
      priceTakeProfit: 1,
      priceStopLoss: 1,
      minuteEstimatedTime: 1,
      note: 1,
    });
  });

  it("a getter answering differently on each read is stored with the value that was validated", () => {
    // First read 110 (valid: 10 % above 100), every later read 1 (a long TP below the entry).
    let tpReads = 0;
    let slReads = 0;
    const dto = {
      position: "long",
      minuteEstimatedTime: 60,
      get priceTakeProfit() {
        return tpReads++ === 0 ? 110 : 1;
      },
      get priceStopLoss() {
        return slReads++ === 0 ? 95 : 1e9;
      },
    };
    const state = create(dto);
    expect(state.signal.priceTakeProfit).toBe(110);
    expect(state.signal.priceStopLoss).toBe(95);
    expect([tpReads, slReads]).toEqual([1, 1]);
  });

  it("a revoked Proxy is an InvalidSignalError", () => {
    const { proxy, revoke } = Proxy.revocable({ ...longDto }, {});
    revoke();
    const problems = invalid(proxy).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^a signal must be an object or null; reading it threw: TypeError: .*revoked/);
  });
});
