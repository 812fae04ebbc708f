// llama.cpp's tokenizer (node-llama-cpp, the shared peer) on many texts with one model load:
// reads a JSON array of strings on stdin and prints one JSON array of id arrays.
// Usage: node llama_cpp_tokenize.mjs MODEL.gguf [--parse-special] < texts.json
// The peer lives in ORCHARD_PEER_DIR (default /tmp/orchard-peer), see ../../../shared/peers.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const peerDir = process.env.ORCHARD_PEER_DIR || "/tmp/orchard-peer";
const require = createRequire(peerDir + "/package.json");
const { getLlama } = await import(require.resolve("node-llama-cpp"));
const [modelPath, ...flags] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node llama_cpp_tokenize.mjs MODEL.gguf [--parse-special] < texts.json");
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const texts = JSON.parse(readFileSync(0, "utf8"));
const special = flags.includes("--parse-special");
process.stdout.write(JSON.stringify(texts.map((t) => Array.from(model.tokenize(t, special)))) + "\n");
process.exit(0);
