/** `flowrunner validate` on AI steps: strict-schema warnings with their line, and prompt templates checked against a server. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import type { Terminal } from '../../cli/terminal.js';

function fakeTerminal() {
  const out: string[] = [];
  const err: string[] = [];
  const terminal: Terminal = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    interactive: false,
    color: false,
    ask: async () => '',
    close: () => {},
  };
  return { terminal, out, err };
}

const WORKFLOW = `schema_version: "1.0"
id: triage
steps:
  - id: classify
    type: ai_generate
    config:
      template_id: triage
      variables: { text: "{{ inputs.text }}" }
      json_schema:
        type: object
        allOf:
          - { required: [category] }
        properties: { category: { type: string } }
    next: reply
  - id: reply
    type: ai_generate
    config:
      template_id: reply
      template_version: 2
      json_schema: { type: object, required: [body], properties: { body: { type: string } } }
`;

let server: Server;
let url: string;
const asked: string[] = [];
let file: string;

beforeAll(async () => {
  // A stand-in for a Flowrunner server: it has `triage` (version 1) and nothing else.
  server = createServer((req, res) => {
    asked.push(`${req.url} ${req.headers['x-api-key'] ?? ''}`);
    const known = req.url === '/v1/templates/triage' || req.url === '/v1/templates/triage?version=1';
    res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(known ? { id: 'triage', version: 1, text: 't', created_at: '' } : { status: 404 }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'flowrunner-cli-ai-'));
  file = join(dir, 'triage.yaml');
  await writeFile(file, WORKFLOW);
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('flowrunner validate: AI steps', () => {
  it('reports an unknown template on the server with its line, and warns about a schema sent non-strict', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', file, '--url', url, '--api-key', 'k1'], t.terminal)).toBe(1);
    const text = t.out.join('\n');
    expect(text).toMatch(
      new RegExp(
        `${file}:9:\\d+  steps\\[0\\]\\.config\\.json_schema: warning is sent with strict: false.*'allOf'`,
      ),
    );
    expect(text).toMatch(
      new RegExp(`${file}:18:\\d+  steps\\[1\\]\\.config\\.template_id: unknown prompt template 'reply'`),
    );
    expect(t.out.at(-1)).toBe('✖ 1 problem');
    expect(asked).toContain('/v1/templates/triage k1');
  });

  it('prints errors and warnings with --json', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', file, '--json', '--url', url], t.terminal)).toBe(1);
    expect(JSON.parse(t.out[0]!)).toMatchObject({
      valid: false,
      errors: [{ path: 'steps[1].config.template_id', line: 18 }],
      warnings: [{ path: 'steps[0].config.json_schema', message: expect.stringContaining("'allOf'") }],
    });
  });

  it('says the templates were not checked when no server answers, and judges the rest', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', file, '--url', 'http://127.0.0.1:9'], t.terminal)).toBe(0);
    expect(t.err.join('\n')).toMatch(
      /prompt templates not checked: no server answered at http:\/\/127\.0\.0\.1:9/,
    );
    expect(t.out.at(-1)).toMatch(/triage is valid \(2 steps\)/);
  });
});
