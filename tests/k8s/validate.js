#!/usr/bin/env node
// Validates Kubernetes manifests against the Kubernetes API's JSON Schemas, with the
// kubernetes-models package (npm; its validators are generated from the Kubernetes OpenAPI
// definitions). Every document of every file must be an object of a known apiVersion and kind
// that validates; prints one line per object and exits 1 on the first that does not.
//   node tests/k8s/validate.js deploy/k8s/*.yaml
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

function modelFor(apiVersion, kind) {
  // "apps/v1" -> kubernetes-models/apps/v1/Kind; core "v1" -> kubernetes-models/v1/Kind
  if (!/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return null;
  try {
    return require(path.join("kubernetes-models", apiVersion, kind))[kind];
  } catch (e) {
    return null;
  }
}

let n = 0;
for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.error(`${file}: ${doc.errors[0].message}`);
      process.exit(1);
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const Model = obj && modelFor(String(obj.apiVersion), String(obj.kind));
    if (!Model) {
      console.error(`${file}: unknown apiVersion/kind ${obj && obj.apiVersion}/${obj && obj.kind}`);
      process.exit(1);
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      console.error(`${file}: ${obj.kind} ${obj.metadata && obj.metadata.name}: ${e.message}`);
      process.exit(1);
    }
    console.log(`${file}: ${obj.apiVersion} ${obj.kind} ${obj.metadata.name}: valid`);
    n++;
  }
}
if (n === 0) {
  console.error("no manifests given");
  process.exit(1);
}
