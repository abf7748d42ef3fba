// Node threads dressed as the browser's worker scopes, to run a built bundle (static/dist/*.js)
// as the browser would: `self` is a DedicatedWorkerGlobalScope (messages through
// `self.onmessage`) or a SharedWorkerGlobalScope (one MessagePort per connection, through
// `self.onconnect`), with the worker's `name`.

import { Worker } from "node:worker_threads";

const COMMON = `
  const { parentPort, workerData } = require("node:worker_threads");
  class WorkerGlobalScope {}
  class DedicatedWorkerGlobalScope extends WorkerGlobalScope {}
  class SharedWorkerGlobalScope extends WorkerGlobalScope {}
  Object.assign(globalThis, { WorkerGlobalScope, DedicatedWorkerGlobalScope, SharedWorkerGlobalScope });
`;

const DEDICATED = `${COMMON}
  const scope = new DedicatedWorkerGlobalScope();
  scope.name = workerData.name;
  scope.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
  globalThis.self = scope;
  require("node:vm").runInThisContext(workerData.code, { filename: "bundle.js" });
  parentPort.on("message", (data) => scope.onmessage({ data }));
`;

const SHARED = `${COMMON}
  const scope = new SharedWorkerGlobalScope();
  scope.name = workerData.name;
  globalThis.self = scope;
  require("node:vm").runInThisContext(workerData.code, { filename: "bundle.js" });
  parentPort.on("message", (port) => scope.onconnect({ ports: [port] }));
`;

/** Run `code` as a dedicated worker named `name`; `{postMessage, onmessage, terminate}`. */
export function dedicatedWorker(code, name = "") {
  const thread = new Worker(DEDICATED, { eval: true, workerData: { code, name } });
  const worker = {
    onmessage: null,
    postMessage: (message) => thread.postMessage(message),
    terminate: () => thread.terminate(),
  };
  thread.on("message", (data) => worker.onmessage?.({ data }));
  return worker;
}

/** Run `code` as a shared worker named `name`; `connect()` gives a new MessagePort to it. */
export function sharedWorker(code, name) {
  const thread = new Worker(SHARED, { eval: true, workerData: { code, name } });
  return {
    connect() {
      const { port1, port2 } = new MessageChannel();
      thread.postMessage(port2, [port2]);
      return port1;
    },
    terminate: () => thread.terminate(),
  };
}
