// Validates the chart's prometheus-operator custom resources against the CRD schemas
// shipped in @kubernetes-models/prometheus-operator.
//   node validate-crds.mjs CRDS.json NODE_MODULES_DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [crdsPath, modules] = process.argv.slice(2);
const docs = JSON.parse(readFileSync(crdsPath, "utf8"));
const base = join(modules, "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
const kinds = ["ServiceMonitor", "PrometheusRule", "PodMonitor"];
const models = {};
for (const kind of kinds) {
  models[kind] = (await import(pathToFileURL(join(base, `${kind}.js`)).href))[kind];
}

let failed = 0;
const seen = {};
for (const doc of docs) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  const Model = models[doc.kind];
  if (!Model || doc.apiVersion !== "monitoring.coreos.com/v1") {
    console.error(`FAIL ${name}: no schema for ${doc.apiVersion} ${doc.kind}`);
    failed++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok   ${name}`);
    seen[doc.kind] = (seen[doc.kind] || 0) + 1;
  } catch (err) {
    console.error(`FAIL ${name}: ${err.message}`);
    failed++;
  }
}
if (!seen.ServiceMonitor) {
  console.error("FAIL no ServiceMonitor rendered");
  failed++;
}
process.exit(failed ? 1 : 0);
