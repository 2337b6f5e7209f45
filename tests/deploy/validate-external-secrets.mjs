// Validates the application's SecretStore and ExternalSecret
// (terraform/kubernetes/app-external-secret.yaml, parsed to JSON) against the schemas of
// @kubernetes-models/external-secrets. The package ships v1beta1 only; the manifest uses
// external-secrets.io/v1, whose fields used here (provider.aws, secretStoreRef, target,
// data[].remoteRef) are those of v1beta1, so it is checked against v1beta1.
//   node validate-external-secrets.mjs DOCS.json NODE_MODULES_DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [docsPath, modules] = process.argv.slice(2);
const docs = JSON.parse(readFileSync(docsPath, "utf8"));
const base = join(modules, "@kubernetes-models/external-secrets/external-secrets.io/v1beta1");
let failed = 0;
for (const doc of docs) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  if (doc.apiVersion !== "external-secrets.io/v1") {
    console.error(`FAIL ${name}: expected external-secrets.io/v1, got ${doc.apiVersion}`);
    failed++;
    continue;
  }
  try {
    const Model = (await import(pathToFileURL(join(base, `${doc.kind}.mjs`)).href))[doc.kind];
    new Model({ ...doc, apiVersion: "external-secrets.io/v1beta1" }).validate();
    console.log(`ok   ${name}`);
  } catch (err) {
    console.error(`FAIL ${name}: ${err.message}`);
    failed++;
  }
}
process.exit(failed || docs.length !== 2 ? 1 : 0);
