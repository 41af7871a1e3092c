// A whole engine session as the extension runs it, for the no-network test: the engine process
// loads the embedded pair, completes (with the file's path and a context chunk) and explains.
// Run: node out/test/support/engineSession.js
import * as path from 'path';
import { EngineClient } from '../../src/engine/engineClient';

const ROOT = path.resolve(__dirname, '..', '..', '..');

async function main(): Promise<void> {
  const client = new EngineClient(path.join(ROOT, 'out', 'src', 'engine', 'engineProcess.js'));
  try {
    await client.load(path.join(ROOT, 'models', 'default'), 'auto');
    const completion = await client.complete({
      prefix: 'export function area(width: number, height: number): number {\n  return ',
      suffix: '\n}\n',
      languageId: 'typescript',
      filePath: 'src/area.ts',
      context: [{ path: 'src/units.ts', text: 'export const unit = "cm";\n' }],
      contextChunkTokens: 256,
      maxNewTokens: 16,
      contextTokens: 512,
    });
    const explanation = await client.explain({ code: 'const x = [1, 2, 3].map((n) => n * 2);', languageId: 'typescript', maxNewTokens: 16, contextTokens: 512 }, undefined, () => undefined);
    console.log(JSON.stringify({ completion: completion.text, explanation }));
  } finally {
    await client.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
