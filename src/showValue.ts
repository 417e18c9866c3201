/**
 * A value as an error message shows it: a string quoted (so `"3"` is told from `3`), a function,
 * an array or an object by its kind, anything else as its text.
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}
