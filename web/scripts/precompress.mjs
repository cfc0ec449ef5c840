// Writes FILE.gz and FILE.br beside each built text file, which `netpraxis serve` sends to browsers that
// accept them (http::StaticFiles). Node's zlib only: no dependency.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = process.argv[2] ?? "dist";
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
for (const file of walk(root)) {
  if (!/\.(js|css|html|svg|json|txt)$/.test(file)) continue;
  const data = readFileSync(file);
  writeFileSync(file + ".gz", gzipSync(data, { level: 9 }));
  writeFileSync(
    file + ".br",
    brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
  );
}
