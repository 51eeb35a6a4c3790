// A GitHub webhook receiver built on @octokit/webhooks: its Node middleware checks the
// X-Hub-Signature-256 header and hands each event to the handlers, which check the
// payload against GitHub's published schema (@octokit/webhooks-schemas, with ajv) and
// write one JSON line per event to the record file.
// Usage: node octokit.mjs PORT SECRET RECORD_FILE
import http from "node:http";
import fs from "node:fs";
import { createRequire } from "node:module";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const [port, secret, record] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const schema = require("@octokit/webhooks-schemas/schema.json");
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(schema, "webhooks");

const webhooks = new Webhooks({ secret });
let headers = {};
webhooks.onAny(({ id, name, payload }) => {
  const validate = ajv.getSchema(`webhooks#/definitions/${name}$event`);
  const valid = validate(payload);
  fs.appendFileSync(
    record,
    JSON.stringify({
      id,
      name,
      valid,
      errors: validate.errors,
      headers,
      payload,
    }) + "\n",
  );
});
webhooks.onError((error) => {
  fs.appendFileSync(record, JSON.stringify({ error: String(error) }) + "\n");
});
const middleware = createNodeMiddleware(webhooks, { path: "/" });
http
  .createServer((req, res) => {
    headers = {
      "user-agent": req.headers["user-agent"],
      "x-github-hook-id": req.headers["x-github-hook-id"],
      "x-hub-signature": req.headers["x-hub-signature"],
    };
    middleware(req, res);
  })
  .listen(Number(port), "127.0.0.1");
