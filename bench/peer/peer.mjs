// The peer side of `make bench-peer`: PouchDB replicating to a CouchDB-compatible server.
//
//   node peer.mjs server --dir DIR            express-pouchdb on leveldb files in DIR, on a free
//                                              loopback port; prints {"port": N} once listening
//   node peer.mjs client                       the devices: one JSON command a line on stdin, one
//                                              JSON answer a line on stdout (driven by run.py)
//
// The server persists to disk like GridSweep's (pouchdb-node's default leveldb adapter, one
// directory per database); the devices are in-memory PouchDBs (pouchdb-adapter-memory), as
// GridSweep's device stores sit on tmpfs in the benchmark. Every timed span is measured here,
// inside the Node process, from the start of a sync to its end, so process start-up and the
// JSON pipe to Python are never counted.

import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import PouchDB from "pouchdb-node";
import memoryAdapter from "pouchdb-adapter-memory";
import express from "express";
import expressPouchdb from "express-pouchdb";

PouchDB.plugin(memoryAdapter);
// A hundred replications of one remote database each add listeners to it; that is expected here,
// not the leak Node's default limit of 10 warns about.
EventEmitter.defaultMaxListeners = 1000;

// --- the server ------------------------------------------------------------------------------

function serve(dir) {
  // leveldb under DIR: every database is a directory there, written with fsync like CouchDB's.
  const DiskPouch = PouchDB.defaults({ prefix: `${dir}/` });
  const app = express();
  // minimumForPouchDB: the routes replication uses, without the config and log files that
  // fullCouchDB mode would write into the working directory.
  app.use("/", expressPouchdb(DiskPouch, { mode: "minimumForPouchDB" }));
  const server = app.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

// --- the devices ---------------------------------------------------------------------------

const devices = new Map(); // name -> {local, remote}
let baseUrl = null;
// PouchDB's defaults (100 documents a batch) unless the driver asks otherwise; run.py uses the
// batch size that suits the peer best (see its docstring).
let replication = {};

function device(name) {
  const found = devices.get(name);
  if (!found) throw new Error(`no device ${name}`);
  return found;
}

// One sync as a PouchDB app does it: push the local changes, then pull the server's, both
// one-shot replications that checkpoint on both sides (GridSweep: push the outbox, then pull).
async function syncOne(d) {
  const pushed = await d.local.replicate.to(d.remote, replication);
  const pulled = await d.local.replicate.from(d.remote, replication);
  return { pushed: pushed.docs_written, pulled: pulled.docs_written };
}

const commands = {
  async init({ url, batch_size: batchSize }) {
    baseUrl = url;
    replication = batchSize ? { batch_size: batchSize } : {};
    return { ok: true };
  },

  async create_db({ db }) {
    // Creating the remote database is what CouchDB's admin does before devices replicate.
    const remote = new PouchDB(`${baseUrl}/${db}`);
    await remote.info();
    return { ok: true };
  },

  async new_device({ device: name, db }) {
    const local = new PouchDB(`device-${name}`, { adapter: "memory" });
    const remote = new PouchDB(`${baseUrl}/${db}`, { skip_setup: true });
    devices.set(name, { local, remote });
    return { ok: true };
  },

  async close_device({ device: name }) {
    const d = device(name);
    await d.local.destroy();
    devices.delete(name);
    return { ok: true };
  },

  // Records made on the device while offline (not timed): one bulk write of new documents.
  async load({ device: name, docs }) {
    const results = await device(name).local.bulkDocs(docs);
    const failed = results.filter((r) => r.error);
    if (failed.length) throw new Error(`load: ${failed.length} documents failed`);
    return { written: results.length };
  },

  // Offline edits (not timed): read each document, change its fields, write it back.
  async edit({ device: name, edits }) {
    const { local } = device(name);
    const found = await local.allDocs({ keys: edits.map((e) => e.id), include_docs: true });
    const docs = found.rows.map((row, i) => ({ ...row.doc, ...edits[i].fields }));
    const results = await local.bulkDocs(docs);
    const failed = results.filter((r) => r.error);
    if (failed.length) throw new Error(`edit: ${failed.length} documents failed`);
    return { edited: results.length };
  },

  // The timed span: every named device syncs at once; the wall time until the last is done.
  async sync({ devices: names, limit }) {
    const chosen = names.map(device);
    const started = performance.now();
    // At most `limit` devices syncing at a time (all at once without it), as in run.py.
    const done = new Array(chosen.length);
    let next = 0;
    const lane = async () => {
      while (next < chosen.length) {
        const i = next++;
        done[i] = await syncOne(chosen[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit || chosen.length, chosen.length) }, lane));
    const seconds = (performance.now() - started) / 1000;
    return {
      seconds,
      pushed: done.reduce((n, r) => n + r.pushed, 0),
      pulled: done.reduce((n, r) => n + r.pulled, 0),
    };
  },

  // What a person must settle: documents left with conflicting revisions on the server.
  async conflicts({ db, ids }) {
    const remote = new PouchDB(`${baseUrl}/${db}`, { skip_setup: true });
    const found = await remote.allDocs({ keys: ids, include_docs: true, conflicts: true });
    const conflicted = found.rows.filter((r) => r.doc && r.doc._conflicts?.length);
    return {
      documents: conflicted.length,
      revisions: conflicted.reduce((n, r) => n + r.doc._conflicts.length, 0),
    };
  },

  // The winning revision of each id on each device (and the server), to check convergence.
  async snapshot({ db, devices: names, ids }) {
    const remote = new PouchDB(`${baseUrl}/${db}`, { skip_setup: true });
    const read = async (pouch) => {
      const found = await pouch.allDocs({ keys: ids, include_docs: true });
      return JSON.stringify(found.rows.map((r) => r.doc ?? null));
    };
    const views = await Promise.all(names.map((n) => read(device(n).local)));
    const server = await read(remote);
    return { distinct: new Set(views).size, equal_to_server: views.every((v) => v === server) };
  },
};

async function client() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  // One command at a time: the driver waits for each answer before sending the next.
  for await (const line of lines) {
    if (!line.trim()) continue;
    let answer;
    try {
      const request = JSON.parse(line);
      const run = commands[request.cmd];
      if (!run) throw new Error(`unknown command ${request.cmd}`);
      answer = { ok: true, result: await run(request) };
    } catch (error) {
      answer = { ok: false, error: String(error?.stack ?? error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "server") {
  const at = rest.indexOf("--dir");
  if (at < 0 || !rest[at + 1]) throw new Error("server needs --dir DIR");
  serve(rest[at + 1]);
} else if (mode === "client") {
  await client();
} else {
  process.stderr.write("usage: node peer.mjs server --dir DIR | node peer.mjs client\n");
  process.exit(2);
}
