// validate.js SCHEMA FILE...: checks every line of JSON Lines files against a JSON Schema with
// ajv. Prints the number of rows checked; exits 1 on the first invalid row (with its errors).
"use strict";
const fs = require("fs");
const path = require("path");
const Ajv = require("ajv");

const [schemaPath, ...files] = process.argv.slice(2);
// strict, but union types ("string or integer") are part of draft-07 and used on purpose
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
// the other schemas beside it, so that a "$ref" to one (by its file name) resolves
const dir = path.dirname(schemaPath);
for (const f of fs.readdirSync(dir)) {
  const p = path.join(dir, f);
  if (f.endsWith(".schema.json") && path.resolve(p) !== path.resolve(schemaPath))
    ajv.addSchema(JSON.parse(fs.readFileSync(p, "utf8")));
}
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
let rows = 0;
for (const file of files) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line === "") return;
    const row = JSON.parse(line);
    if (!validate(row)) {
      console.error(`${file}:${i + 1}: ${ajv.errorsText(validate.errors)}`);
      process.exit(1);
    }
    rows++;
  });
}
console.log(rows);
