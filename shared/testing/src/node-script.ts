import { spawn } from 'node:child_process';
import { REPO_ROOT } from '@parking-realtime/launcher';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript entry point (relative to the repository root) to its end,
 * as the npm scripts do, and resolves with its exit code and output; fails if
 * it has not exited within `timeoutMs`. `env` replaces the environment when
 * given; otherwise the script inherits this process' environment.
 */
export function runNodeScript(script: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ScriptRun> {
  const { timeoutMs = 30_000 } = options;
  const child = spawn(process.execPath, ['--conditions=pr-source', '--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
