// Every ```ts block of README.md type-checks under the project's strict compiler options, each
// block as its own module, with the names a reader's own code has (`strategy`, `exchange`, …)
// declared in scripts/readme-blocks/globals.d.ts. A fragment that is not meant to compile is
// fenced as what it is (```text), not as ```ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type TypeScript from "typescript";
import { expect, it } from "vitest";

// Required, not imported: an ES import of typescript.js (9 MB of CommonJS) has Node scan it for
// its export names and module format first (~0.5 s of CPU).
const ts: typeof TypeScript = createRequire(import.meta.url)("typescript");

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "test-results", "readme-blocks");
// Relative imports in the README are written as in its excerpts of examples/marble-testing/.
const relativeBase = join(root, "examples", "marble-testing");

interface Block {
  line: number; // 1-based line of the opening fence in README.md
  code: string;
}

/** The ```ts / ```typescript blocks of a Markdown text, with the line each starts on. */
export function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(ts|typescript)\s*$/.exec(lines[i] ?? "");
    if (open === null) continue;
    const fence = open[2] as string;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !(lines[j] ?? "").trimStart().startsWith(fence); j++) body.push(lines[j] as string);
    blocks.push({ line: i + 1, code: body.join("\n") });
    i = j;
  }
  return blocks;
}

function withAbsoluteImports(code: string): string {
  return code.replace(/(from\s+|import\s*\(\s*)(["'])(\.{1,2}\/[^"']+)\2/g, (_m, head: string, quote: string, spec: string) => {
    const target = relative(out, resolve(relativeBase, spec)).replaceAll("\\", "/");
    return `${head}${quote}${target.startsWith(".") ? target : `./${target}`}${quote}`;
  });
}

// "declared but never read" (6133, 6198) only counts for imports: a block may well define a
// value for the reader to use (`const exchange = …`) without using it itself.
function isUnusedValue(d: TypeScript.Diagnostic): boolean {
  if ((d.code !== 6133 && d.code !== 6198) || d.file === undefined || d.start === undefined) return false;
  const at = d.start;
  return !d.file.statements.some((s) => ts.isImportDeclaration(s) && s.getStart() <= at && at < s.end);
}

it("finds the README's blocks (the extractor works)", () => {
  const sample = "text\n```ts\nconst a = 1;\n```\n```sh\nls\n```\n```typescript\nlet b;\n```\n";
  expect(tsBlocks(sample)).toEqual([
    { line: 2, code: "const a = 1;" },
    { line: 8, code: "let b;" },
  ]);
  expect(tsBlocks(readFileSync(join(root, "README.md"), "utf8")).length).toBeGreaterThanOrEqual(8);
});

it("type-checks every ```ts block of README.md under tsc --strict", { timeout: 120_000 }, () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = tsBlocks(readme);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files = blocks.map((block) => {
    const file = join(out, `readme-line-${block.line}.ts`);
    // `export {}` makes a block without imports a module too (its own scope, top-level await).
    writeFileSync(file, `${withAbsoluteImports(block.code)}\nexport {};\n`);
    return file;
  });

  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (config === undefined) throw new Error("tsconfig.json could not be read");
  expect(config.options.strict).toBe(true);
  // An unused import in an example misleads the reader: refused here as well.
  const options = { ...config.options, noEmit: true, noUnusedLocals: true };
  // Declaration files are not checked (skipLibCheck), and in a TypeScript file JSDoc carries no
  // type: the only JSDoc that can change a diagnostic is a {@link}/@see naming an import (it
  // counts as a use for noUnusedLocals), and that is reported only in a checked file.
  expect(options.skipLibCheck).toBe(true);
  const host = ts.createCompilerHost(options);
  // As tsc: JSDoc in the blocks and the sources is parsed only where it can hold a type error
  // (~0.7 s of CPU less than parsing it all).
  host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
  // In the ~10 MB of declarations the blocks reach (ccxt, @types/node, rxjs…), not at all: ccxt
  // has a @see on nearly every method, which ParseForTypeErrors parses (~0.8 s of CPU).
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile) =>
    getSourceFile(
      fileName,
      /\.d\.[cm]?ts$/.test(fileName) && typeof languageVersionOrOptions === "object" ? { ...languageVersionOrOptions, jsDocParsingMode: ts.JSDocParsingMode.ParseNone } : languageVersionOrOptions,
      onError,
      shouldCreateNewSourceFile,
    );
  const program = ts.createProgram({ rootNames: [...files, join(root, "scripts", "readme-blocks", "globals.d.ts")], options, host });
  // Only the blocks are checked (what they use of the sources is resolved as they need it);
  // the sources themselves are `npm run typecheck`'s, not checked again here.
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...files.flatMap((file) => {
      const source = program.getSourceFile(file);
      if (source === undefined) throw new Error(`${file} is not in the program`);
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    }),
  ];
  const problems = diagnostics
    .filter((d) => !isUnusedValue(d))
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (d.file === undefined || d.start === undefined) return message;
      const at = d.file.getLineAndCharacterOfPosition(d.start);
      const blockLine = Number(/readme-line-(\d+)\.ts$/.exec(d.file.fileName)?.[1]);
      return `README.md:${blockLine + 1 + at.line}: ${message}`;
    });
  expect(problems).toEqual([]);
});
