import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { deflateRawSync } from "node:zlib";

export interface BundleSize {
  /** index.mjs, the code Lambda loads. */
  readonly codeBytes: number;
  /** Every file of the asset, index.mjs included: what the function deploys. */
  readonly assetBytes: number;
  /** How many files the asset holds. */
  readonly assetFiles: number;
  /** The asset's files deflated as a zip would hold them: what is uploaded. */
  readonly compressedBytes: number;
}

/** The bundle's index.mjs and the whole asset directory it was synthesized into. */
export function measureBundle(bundle: string): BundleSize {
  const directory = dirname(bundle);
  const files = readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)));
  return {
    codeBytes: readFileSync(bundle).length,
    assetBytes: files.reduce((sum, file) => sum + file.length, 0),
    assetFiles: files.length,
    compressedBytes: files.reduce((sum, file) => sum + deflateRawSync(file, { level: 9 }).length, 0),
  };
}
