import { parseArgs } from "node:util";

/** Exit codes of the `rxtrade` command. */
export const EXIT = {
  ok: 0,
  /** The run failed: a locked or conflicting store, an exchange that cannot be reached, a bug. */
  failed: 1,
  /** The command line was wrong: an unknown flag, a bad value, an unknown strategy or symbol. */
  usage: 2,
  /** A second Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

/** A command line the user got wrong. `main` prints it with a pointer to `--help` and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    /** "demo", "live", or "" for the top level: names the `--help` to point to. */
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

/** Flag definitions for `node:util` `parseArgs`. */
export type FlagDefinitions = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

/** The flags as parsed: strings for string flags (a list for a repeatable one), booleans for the others. */
export type ParsedFlags<T extends FlagDefinitions> = {
  [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : T[K]["multiple"] extends true ? string[] : string;
};

/**
 * `parseArgs` in strict mode, with its errors rewritten to say which flag was wrong and where
 * to look: `rxtrade demo: unknown flag --sped`.
 */
export function parseFlags<T extends FlagDefinitions>(
  command: string,
  args: readonly string[],
  flags: T,
  examples: Partial<Record<keyof T, string>> = {},
): ParsedFlags<T> {
  return parseCommandLine(command, args, flags, examples, false).flags;
}

/** `parseFlags` for a command that also takes arguments (`rxtrade store clear <key>`): the flags, and the arguments in order. */
export function parseCommandLine<T extends FlagDefinitions>(
  command: string,
  args: readonly string[],
  flags: T,
  examples: Partial<Record<keyof T, string>> = {},
  allowPositionals = true,
): { flags: ParsedFlags<T>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: flags, strict: true, allowPositionals });
    return { flags: values as ParsedFlags<T>, positionals };
  } catch (error) {
    throw new UsageError(command, describeParseError(error as Error & { code?: string }, flags, examples as Record<string, string>));
  }
}

function describeParseError(error: Error & { code?: string }, flags: FlagDefinitions, examples: Record<string, string>): string {
  // parseArgs quotes the flag: 'Option '-h, --help' does not take an argument', 'Unknown option '--sped''.
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? "";
  const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted.split(" ")[0] ?? quoted;
  const example = examples[flag.replace(/^-+/, "")];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      // The flag as given (`--yes:m`, not `--yes`), up to the quote that ends it.
      const given = /^Unknown option '(.*?)'(?:\.|$)/s.exec(error.message)?.[1] ?? flag;
      const names = Object.keys(flags);
      // `--yes:m`: a known flag with something stuck to it.
      const stem = /^--([\w-]+)/.exec(given)?.[1];
      const near = stem !== undefined && stem !== given.slice(2) && names.includes(stem) ? stem : closestFlag(given, names);
      return `unknown flag ${given}${near === undefined ? "" : `; did you mean --${near}?`}`;
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(quoted)}; every value goes after its flag, e.g. --speed 120`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/argument missing/.test(error.message)) return `${flag} needs a value, e.g. ${flag} ${example ?? "<value>"}`;
      if (/does not take an argument/.test(error.message)) return `${flag} takes no value`;
      // "--speed -5": parseArgs cannot tell a negative number from a flag.
      if (/ambiguous/.test(error.message)) return `${flag} is followed by something that looks like a flag; write ${flag}=<value>`;
      return error.message;
    default:
      return error.message;
  }
}

/** The defined flag closest to a mistyped one (`--sped` -> `speed`), if any is close. */
function closestFlag(flag: string, names: readonly string[]): string | undefined {
  const typed = flag.replace(/^-+/, "");
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** Checks a numeric flag: `rxtrade demo: --speed must be a number from 1 to 100000 (…), got "fast"; e.g. --speed 240`. */
export function numberFlag(
  command: string,
  flag: string,
  text: string,
  rule: { min: number; max: number; integer?: boolean; what: string; example: string },
): number {
  const value = text.trim() === "" ? Number.NaN : Number(text);
  const ok = Number.isFinite(value) && value >= rule.min && value <= rule.max && (!rule.integer || Number.isInteger(value));
  if (!ok) {
    const kind = rule.integer ? "a whole number" : "a number";
    throw new UsageError(
      command,
      `--${flag} must be ${kind} from ${rule.min} to ${rule.max} (${rule.what}), got ${JSON.stringify(text)}; e.g. --${flag} ${rule.example}`,
    );
  }
  return value;
}
