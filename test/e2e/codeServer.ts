// Starts a real VS Code (code-server) with the packaged .vsix installed, in a scratch HOME,
// and opens it in headless Debian Chromium through playwright-core.
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const CODE_SERVER = process.env.OVERFILL_CODE_SERVER ?? path.join(REPO_ROOT, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');

export function packagedVsix(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const vsix = path.join(REPO_ROOT, 'build', `${pkg.name}-${pkg.version}-linux-x64.vsix`);
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} is missing: run "npm run build && npm run package" first.`);
  return vsix;
}

export interface Session {
  page: Page;
  workspace: string;
  userSettings: string;
  /** code-server is a remote window: machine-scoped settings (overfill.model.path) live here. */
  machineSettings: string;
  /** code-server's --user-data-dir (its logs/ holds the extension's OverFill log). */
  userData: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url}`);
}

export async function startSession(files: Record<string, string>, settings: Record<string, unknown>): Promise<Session> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'overfill-e2e-'));
  const home = path.join(scratch, 'home');
  const userData = path.join(scratch, 'user-data');
  const extensions = path.join(scratch, 'extensions');
  const workspace = path.join(scratch, 'workspace');
  for (const d of [home, path.join(userData, 'User'), path.join(userData, 'Machine'), extensions, workspace]) fs.mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(workspace, name), text);
  const userSettings = path.join(userData, 'User', 'settings.json');
  fs.writeFileSync(userSettings, JSON.stringify(settings, null, 2));
  const machineSettings = path.join(userData, 'Machine', 'settings.json');
  fs.writeFileSync(machineSettings, '{}');
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share') };
  const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
  execFileSync(CODE_SERVER, [...common, '--install-extension', packagedVsix()], { env, stdio: 'pipe' });

  const port = await freePort();
  const log = fs.openSync(path.join(scratch, 'code-server.log'), 'w');
  const server = spawn(
    CODE_SERVER,
    [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', workspace],
    { env, stdio: ['ignore', log, log] },
  );
  let browser: Browser | undefined;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, 60_000);
    browser = await chromium.launch({
      executablePath: process.env.OVERFILL_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const b = browser;
    return {
      page,
      workspace,
      userSettings,
      machineSettings,
      userData,
      close: async () => {
        await b.close().catch(() => undefined);
        server.kill();
        if (process.env.OVERFILL_E2E_KEEP) console.log(`kept ${scratch}`);
        else fs.rmSync(scratch, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    server.kill();
    console.error(fs.readFileSync(path.join(scratch, 'code-server.log'), 'utf8').slice(-4000));
    throw err;
  }
}
