// What a Linux shared library asks of the dynamic linker: its DT_NEEDED names, its own soname and
// its search paths, read from the ELF dynamic section as `readelf -d` shows them. Only headers
// and the dynamic string table are read: CUDA's libraries run to hundreds of MB.
import { promises as fs } from 'fs';
import { OverfillError } from '../../errors';

export interface ElfDynamic {
  needed: string[];
  soname?: string;
  /** DT_RUNPATH entries, as written ($ORIGIN unexpanded). */
  runpath: string[];
  /** DT_RPATH entries (ignored by the linker when a RUNPATH is present). */
  rpath: string[];
}

const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_STRSZ = 10n;
const DT_SONAME = 14n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

export async function readElfDynamic(file: string): Promise<ElfDynamic> {
  const handle = await fs.open(file, 'r');
  try {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, offset);
      if (bytesRead < length) throw notElf(file, 'it ends inside its headers');
      return buf;
    };
    const header = await read(0, 64).catch(() => {
      throw notElf(file, 'it is shorter than an ELF header');
    });
    if (header.readUInt32BE(0) !== 0x7f454c46) throw notElf(file, 'it has no ELF signature');
    // Class 2 = 64-bit, data 1 = little-endian: the only kind onnxruntime-node's CUDA build runs on.
    if (header[4] !== 2 || header[5] !== 1) throw notElf(file, 'it is not a 64-bit little-endian ELF file');
    if (header.readUInt16LE(18) !== EM_X86_64) throw notElf(file, `it is built for another CPU (ELF machine ${header.readUInt16LE(18)}, not x86-64)`);
    const { size } = await handle.stat();
    const fits = (offset: number, length: number, what: string): void => {
      if (offset + length > size) throw notElf(file, `its ${what} runs past the end of the file: is it complete?`);
    };
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    fits(phoff, phentsize * phnum, 'program header table');
    const table = await read(phoff, phentsize * phnum);
    const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
    let dynamic: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const type = table.readUInt32LE(at);
      const offset = table.readBigUInt64LE(at + 8);
      const vaddr = table.readBigUInt64LE(at + 16);
      const filesz = table.readBigUInt64LE(at + 32);
      if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
      if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
    }
    if (!dynamic) throw notElf(file, 'it has no dynamic section (a static executable, not a shared library)');
    fits(dynamic.offset, dynamic.size, 'dynamic section');
    const entries = await read(dynamic.offset, dynamic.size);
    const tags: [bigint, bigint][] = [];
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = entries.readBigInt64LE(at);
      if (tag === DT_NULL) break;
      tags.push([tag, entries.readBigUInt64LE(at + 8)]);
    }
    const value = (tag: bigint): bigint | undefined => tags.find(([t]) => t === tag)?.[1];
    const strtab = value(DT_STRTAB);
    const strsz = value(DT_STRSZ);
    if (strtab === undefined || strsz === undefined) throw notElf(file, 'its dynamic section has no string table');
    // DT_STRTAB is an address: map it to the file through the segment that loads it.
    const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
    if (!seg) throw notElf(file, 'its string table lies outside every loaded segment');
    const stringsAt = Number(strtab - seg.vaddr + seg.offset);
    fits(stringsAt, Number(strsz), 'string table');
    const strings = await read(stringsAt, Number(strsz));
    const str = (offset: bigint): string => {
      const start = Number(offset);
      const end = strings.indexOf(0, start);
      return strings.toString('utf8', start, end < 0 ? strings.length : end);
    };
    const paths = (tag: bigint): string[] => tags.filter(([t]) => t === tag).flatMap(([, v]) => str(v).split(':')).filter(Boolean);
    const soname = value(DT_SONAME);
    return {
      needed: tags.filter(([t]) => t === DT_NEEDED).map(([, v]) => str(v)),
      soname: soname === undefined ? undefined : str(soname),
      runpath: paths(DT_RUNPATH),
      rpath: paths(DT_RPATH),
    };
  } finally {
    await handle.close();
  }
}

function notElf(file: string, why: string): OverfillError {
  return new OverfillError('CUDA_SETUP_FAILED', `${file} is not a Linux x64 shared library: ${why}. Use the CUDA provider libraries of onnxruntime's Linux x64 GPU package.`);
}
