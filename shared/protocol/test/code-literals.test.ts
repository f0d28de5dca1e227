import { existsSync, readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import ts from 'typescript';
import { CloseCode, ErrorCode } from '../src/index.js';

// Every error and close code a source file uses comes from the registry (ErrorCode, CloseCode),
// so renaming or removing one breaks the build rather than a client. Parsed, not grepped: a code
// named in a comment or inside a description string (`invalid_request`) is prose, not a use.

const ROOT = new URL('../../../', import.meta.url);
const REGISTRY = new Set(['shared/protocol/src/error-codes.ts', 'shared/protocol/src/close-codes.ts']);
const errorCodes = new Set<string>(Object.values(ErrorCode));
const closeCodes = new Set<number>(Object.values(CloseCode));

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(new URL(dir, ROOT), { withFileTypes: true })) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory()) walk(`${path}/`);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const area of ['services', 'shared', 'clients']) {
    for (const pkg of readdirSync(new URL(`${area}/`, ROOT))) {
      if (existsSync(new URL(`${area}/${pkg}/src/`, ROOT))) walk(`${area}/${pkg}/src/`);
    }
  }
  return files;
}

/** `path:line: text` for each string literal equal to an error code, and each `.close(<close code>)`. */
function bareCodes(path: string, text: string): string[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, path.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const report = (node: ts.Node): void => {
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
    found.push(`${path}:${line}: ${node.getText(file)}`);
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && errorCodes.has(node.text)) report(node);
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'close' &&
      node.arguments[0] &&
      ts.isNumericLiteral(node.arguments[0]) &&
      closeCodes.has(Number(node.arguments[0].text))
    ) {
      report(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

t.test('no source file writes an error code or close code as a literal: each comes from the registry', async (t) => {
  const files = sourceFiles().filter((path) => !REGISTRY.has(path));
  t.ok(files.length > 50, `scanned ${files.length} files`);
  t.same(files.flatMap((path) => bareCodes(path, readFileSync(new URL(path, ROOT), 'utf8'))), []);
});

t.test('the scan finds a bare code, in a call, a type and a close, and passes prose and registry uses', async (t) => {
  const found = bareCodes(
    'example.ts',
    [
      "throw new HttpError(400, 'invalid_request', 'Body must be an object');",
      "type Code = 'not_found' | 'not_failed';",
      'socket.close(4003, `revoked`);',
      "errorResponse('`invalid_request`: the body is wrong');",
      '// answers `upgrade_required`',
      "throw new HttpError(426, ErrorCode.upgradeRequired, 'WebSocket only');",
      "socket.close(CloseCode.revoked, 'revoked');",
      "socket.close(1000, 'client closed');",
    ].join('\n'),
  );
  t.same(found, ["example.ts:1: 'invalid_request'", "example.ts:2: 'not_found'", 'example.ts:3: 4003']);
});
