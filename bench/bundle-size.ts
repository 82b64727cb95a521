import { existsSync, readFileSync } from "node:fs";
import { deflateRawSync } from "node:zlib";

export interface BundleSize {
  /** index.mjs, the code Lambda loads. */
  readonly codeBytes: number;
  /** index.mjs.map, deployed with it (NODE_OPTIONS=--enable-source-maps reads it). */
  readonly mapBytes: number;
  /** What the asset holds: code and source map. */
  readonly assetBytes: number;
  /** Both files deflated as a zip would hold them: what is uploaded. */
  readonly compressedBytes: number;
}

export function measureBundle(bundle: string): BundleSize {
  const code = readFileSync(bundle);
  const map = existsSync(`${bundle}.map`) ? readFileSync(`${bundle}.map`) : Buffer.alloc(0);
  return {
    codeBytes: code.length,
    mapBytes: map.length,
    assetBytes: code.length + map.length,
    compressedBytes: deflateRawSync(code, { level: 9 }).length + deflateRawSync(map, { level: 9 }).length,
  };
}
