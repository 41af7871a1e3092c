// docs/bench/vs-llamacpp.svg from docs/bench/vs-llamacpp.json: per configuration, the single-line
// suggestion and the keystroke into a cached 2k prompt (p50 ms), one bar per engine. Plain SVG,
// no plotting dependency.
//   node out/bench/chartVsLlamaCpp.js [docs/bench/vs-llamacpp.json]
import * as fs from 'fs';
import * as path from 'path';

interface Stats {
  p50: number;
}
interface Result {
  name: string;
  stats: Record<string, Record<string, Stats>>;
}

const ENGINES: [string, string, string][] = [
  ['overfill', 'OverFill Code (pair)', '#2b7bba'],
  ['ours-full', 'OverFill Code, full model only', '#8fbce6'],
  ['llama-full', 'llama.cpp, full model', '#d95f02'],
  ['llama-decoder', 'llama.cpp, decoder alone', '#fdb863'],
];
const PANELS: [string, string][] = [
  ['line16Ms1k', 'Single-line suggestion (16 tokens), 1k prompt, cold: ms'],
  ['keystroke2kMs', 'Keystroke into an evaluated 2k prompt (16 tokens): ms'],
];

export function chartSvg(results: Result[], title: string): string {
  const W = 900;
  const panelH = 230;
  const left = 130;
  const barH = 9;
  const out: string[] = [];
  const text = (x: number, y: number, s: string, extra = '', size = 12): string => `<text x="${x}" y="${y}" font-family="sans-serif" font-size="${size}" ${extra}>${s.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`;
  out.push(text(10, 20, title, 'font-weight="bold"', 14));
  ENGINES.forEach(([, label, color], i) => {
    out.push(`<rect x="${10 + i * 220}" y="32" width="12" height="12" fill="${color}"/>`, text(26 + i * 220, 43, label));
  });
  PANELS.forEach(([metric, heading], p) => {
    const top = 70 + p * panelH;
    const max = Math.max(...results.flatMap((r) => ENGINES.map(([e]) => r.stats[e][metric].p50)));
    const scale = (W - left - 80) / max;
    out.push(text(10, top, heading, 'font-weight="bold"'));
    results.forEach((r, k) => {
      const y0 = top + 14 + k * (ENGINES.length * (barH + 2) + 18);
      out.push(text(10, y0 + 2 * (barH + 2) + 4, r.name));
      ENGINES.forEach(([e, , color], i) => {
        const v = r.stats[e][metric].p50;
        const y = y0 + i * (barH + 2);
        out.push(`<rect x="${left}" y="${y}" width="${(v * scale).toFixed(1)}" height="${barH}" fill="${color}"/>`, text(left + v * scale + 4, y + barH - 1, `${Math.round(v)}`, '', 10));
      });
    });
  });
  const H = 70 + PANELS.length * panelH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><rect width="100%" height="100%" fill="white"/>${out.join('')}</svg>\n`;
}

if (require.main === module) {
  const file = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'docs', 'bench', 'vs-llamacpp.json'));
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { date: string; machine: string; threads: number; results: Result[] };
  const svg = chartSvg(data.results, `OverFill Code vs llama.cpp, same weights (${data.date}, ${data.machine}, ${data.threads} threads; p50, lower is better)`);
  fs.writeFileSync(file.replace(/\.json$/, '.svg'), svg);
  console.log(file.replace(/\.json$/, '.svg'));
}
