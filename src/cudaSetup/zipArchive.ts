// Reads the zip archives CUDA's provider libraries come in (a NuGet .nupkg, a Python .whl, a
// .zip), without an unzip program: a Linux desktop need not have one. Entries are streamed to
// disk (the CUDA provider library alone is hundreds of MB) and checked against their CRC-32.
import { createReadStream, createWriteStream, promises as fs } from 'fs';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import * as zlib from 'zlib';
import { OverfillError } from '../engine/errors';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

/** CRC-32 (IEEE), for runtimes whose zlib lacks crc32 (before Node 20.15; VS Code 1.90 ships 20.9). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Update(data: Buffer, value: number): number {
  const native = (zlib as { crc32?: (data: Buffer, value: number) => number }).crc32;
  if (native) return native(data, value);
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function damaged(file: string, why: string): OverfillError {
  return new OverfillError('CUDA_SETUP_FAILED', `${file} is not a readable zip archive (${why}). Download the package again.`);
}

async function readAt(handle: fs.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, offset);
  return buf.subarray(0, bytesRead);
}

export async function listZip(file: string): Promise<ZipEntry[]> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const tailStart = Math.max(0, size - (22 + MAX_COMMENT));
    const tail = await readAt(handle, tailStart, size - tailStart);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) throw damaged(file, 'no end-of-archive record');
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: the real figures are in the record its locator (just before) points at.
      const loc = at - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR) throw damaged(file, 'a ZIP64 archive without its locator');
      const rec = await readAt(handle, Number(tail.readBigUInt64LE(loc + 8)), 56);
      if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) throw damaged(file, 'a bad ZIP64 end record');
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) throw damaged(file, 'its directory runs past the end of the file: is the download complete?');
    const cd = await readAt(handle, cdOffset, cdSize);
    if (cd.length < cdSize) throw damaged(file, 'its directory runs past the end of the file: is the download complete?');
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw damaged(file, `entry ${i} of its directory is malformed`);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const entry: ZipEntry = {
        name: cd.toString('utf8', p + 46, p + 46 + nameLen),
        flags: cd.readUInt16LE(p + 8),
        method: cd.readUInt16LE(p + 10),
        crc32: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
      };
      readZip64Extra(cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), entry);
      entries.push(entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
  } finally {
    await handle.close();
  }
}

/** Sizes and offsets of 0xFFFFFFFF are in the ZIP64 extra field (id 1), in this order. */
function readZip64Extra(extra: Buffer, entry: ZipEntry): void {
  for (let q = 0; q + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 1) {
      let r = q + 4;
      const next = (): number => {
        const v = Number(extra.readBigUInt64LE(r));
        r += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = next();
      return;
    }
    q += 4 + len;
  }
}

async function dataOffset(file: string, entry: ZipEntry): Promise<number> {
  const handle = await fs.open(file, 'r');
  try {
    const local = await readAt(handle, entry.localHeaderOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== LOCAL) throw damaged(file, `${entry.name} has no local header`);
    return entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await handle.close();
  }
}

/** Writes one entry to `dest`, checking its size and CRC-32. */
export async function extractZipEntry(file: string, entry: ZipEntry, dest: string): Promise<void> {
  if (entry.flags & 1) throw damaged(file, `${entry.name} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) throw damaged(file, `${entry.name} uses compression method ${entry.method}; only stored and deflate are read`);
  const start = await dataOffset(file, entry);
  if (entry.compressedSize === 0) {
    if (entry.size !== 0) throw damaged(file, `${entry.name} has no data`);
    await fs.writeFile(dest, '');
    return;
  }
  let crc = 0;
  let bytes = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      // An entry that inflates past its stated size is damaged or hostile: stop writing it.
      if (bytes > entry.size) return done(damaged(file, `${entry.name} inflates past its stated ${entry.size} bytes`));
      crc = crc32Update(chunk, crc);
      done(null, chunk);
    },
  });
  const source = createReadStream(file, { start, end: start + entry.compressedSize - 1 });
  const out = createWriteStream(dest);
  const copied = entry.method === 8 ? pipeline(source, zlib.createInflateRaw(), check, out) : pipeline(source, check, out);
  await copied.catch((err: Error) => {
    throw err instanceof OverfillError ? err : damaged(file, `${entry.name}: ${err.message}`);
  });
  if (bytes !== entry.size) throw damaged(file, `${entry.name} came out at ${bytes} bytes, not ${entry.size}`);
  if (crc >>> 0 !== entry.crc32 >>> 0) throw damaged(file, `${entry.name} fails its CRC-32 check`);
}

/** A small entry's text (a .nuspec, a wheel's METADATA). */
export async function readZipText(file: string, entry: ZipEntry, maxBytes = 1 << 20): Promise<string> {
  if (entry.size > maxBytes) throw damaged(file, `${entry.name} is larger than expected`);
  const start = await dataOffset(file, entry);
  const handle = await fs.open(file, 'r');
  try {
    if (entry.compressedSize > maxBytes) throw damaged(file, `${entry.name} is larger than expected`);
    const raw = await readAt(handle, start, entry.compressedSize);
    return (entry.method === 8 ? zlib.inflateRawSync(raw, { maxOutputLength: maxBytes }) : raw).toString('utf8');
  } finally {
    await handle.close();
  }
}
