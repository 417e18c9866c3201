import { ArgumentRangeError } from "../errors";

const EXAMPLE = "https://hooks.example.com/rxtrade";

/**
 * A webhook's URL, checked: an absolute `http:` or `https:` URL with a host. Throws an
 * `ArgumentRangeError` saying what is wrong with the value (its credentials and query hidden)
 * and what to give instead.
 *
 * @example
 * import { parseWebhookUrl } from "rxtrade/service";
 * parseWebhookUrl("https://hooks.example.com/rxtrade"); // URL
 * parseWebhookUrl("hooks.example.com/rxtrade"); // throws: not an absolute URL
 *
 * @param text the URL as given (a flag, a config value)
 * @param argument names it in the error (`--notify`, `options.webhooks[0].url`)
 */
export function parseWebhookUrl(text: unknown, argument = "url"): URL {
  // A flag's example is the flag with a value; an option's, the value.
  const example = argument.startsWith("--") ? `${argument} ${EXAMPLE}` : EXAMPLE;
  if (typeof text !== "string" || text.trim() === "") {
    throw new ArgumentRangeError(`${argument} must be a webhook's http:// or https:// URL, got ${typeof text === "string" ? '""' : String(text)}; e.g. ${example}`, {
      argument,
      value: text,
    });
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const hint = /^[\w.-]+(:\d+)?(\/|$)/.test(text) ? `; did you mean https://${text}?` : `; e.g. ${example}`;
    throw new ArgumentRangeError(`${argument} ${JSON.stringify(text)} is not an absolute URL (scheme, host, path)${hint}`, { argument, value: text });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    // "localhost:8080/hook" parses, with "localhost:" as its scheme.
    const fix = /^[\w.-]+:\d+(\/|$)/.test(text) ? `did you mean http://${text}?` : `e.g. ${example}`;
    const shown = url.username !== "" || url.password !== "" || url.search !== "" ? redactUrl(url) : text;
    throw new ArgumentRangeError(`${argument} ${JSON.stringify(shown)} is not an http:// or https:// URL (its scheme is ${url.protocol}): webhooks are posted over HTTP; ${fix}`, {
      argument,
      value: shown,
    });
  }
  if (url.hostname === "") {
    throw new ArgumentRangeError(`${argument} ${JSON.stringify(text)} has no host; e.g. ${example}`, { argument, value: text });
  }
  return url;
}

/**
 * `url` as logs and metric labels show it: credentials and query replaced by `***`, the
 * fragment left out (`https://***@hooks.example.com/rxtrade?***`). A secret in the path (as in
 * Slack's webhook URLs) is not recognisable as one: give such a webhook a `name`.
 */
export function redactUrl(url: URL): string {
  const credentials = url.username !== "" || url.password !== "" ? "***@" : "";
  const query = url.search === "" ? "" : "?***";
  return `${url.protocol}//${credentials}${url.host}${url.pathname}${query}`;
}
