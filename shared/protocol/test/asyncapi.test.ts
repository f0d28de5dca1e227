import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import { IsSchema, IsUnion, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import t from 'tap';
import * as protocol from '../src/index.js';
import { asyncApiDocument } from './support/asyncapi-document.js';

// The checked-in document; `npm run docs:asyncapi` rewrites it (UPDATE_DOCS=1) from the frame schemas.
const DOCUMENT = new URL('../../../docs/asyncapi.json', import.meta.url);

if (process.env.UPDATE_DOCS === '1') writeFileSync(DOCUMENT, `${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
const doc = JSON.parse(readFileSync(DOCUMENT, 'utf8'));

interface MessageObject {
  name: string;
  payload: unknown;
  examples: Array<{ name: string; payload: unknown }>;
}
const messages: Record<string, MessageObject> = doc.components.messages;
const asJson = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema));
const frameType = (schema: TSchema): string => (schema as { properties: { type: { const: string } } }).properties.type.const;
const members = (union: TSchema): TSchema[] => (union as { anyOf: TSchema[] }).anyOf;

/** Messages named by the operations of `action`, and by their replies. */
function messagesOf(action: 'send' | 'receive'): { own: Set<string>; replies: Set<string> } {
  const own = new Set<string>();
  const replies = new Set<string>();
  const name = (ref: { $ref: string }) => ref.$ref.split('/').pop()!;
  for (const op of Object.values(doc.operations) as Array<{ action: string; messages: Array<{ $ref: string }>; reply?: { messages: Array<{ $ref: string }> } }>) {
    if (op.action !== action) continue;
    for (const ref of op.messages) own.add(name(ref));
    for (const ref of op.reply?.messages ?? []) replies.add(name(ref));
  }
  return { own, replies };
}

t.test('docs/asyncapi.json is what the frame schemas make', async (t) => {
  t.same(doc, asyncApiDocument(), 'it drifted: run `npm run docs:asyncapi` and commit docs/asyncapi.json');
});

t.test('each message payload is its frame schema, exactly', async (t) => {
  const frames = [...members(protocol.ClientFrame), ...members(protocol.ServerFrame)];
  t.same(Object.keys(messages).sort(), frames.map(frameType).sort(), 'one message per frame type, no other');
  for (const schema of frames) {
    const type = frameType(schema);
    t.same(messages[type]?.payload, asJson(schema), type);
    t.equal(messages[type]?.name, type);
  }
});

t.test('every frame schema shared/protocol exports is in the document, in the right direction', async (t) => {
  const exported = Object.entries(protocol).filter(([name, value]) => name.endsWith('Frame') && IsSchema(value)) as Array<[string, TSchema]>;
  t.ok(exported.length >= 8, `${exported.length} frame schemas exported`);
  const payloads = Object.values(messages).map((m) => m.payload);
  for (const [name, schema] of exported) {
    if (IsUnion(schema)) {
      t.ok(name === 'ClientFrame' || name === 'ServerFrame', `${name}: the only unions are the two directions`);
      continue;
    }
    t.ok(
      payloads.some((p) => isDeepStrictEqual(p, asJson(schema))),
      `${name} is a message payload`,
    );
  }
  const received = messagesOf('receive');
  const sent = messagesOf('send');
  t.same([...received.own].sort(), [...protocol.CLIENT_FRAME_TYPES].sort(), 'the notifier receives every client frame');
  const serverTypes = members(protocol.ServerFrame).map(frameType).sort();
  t.same([...new Set([...sent.own, ...received.replies])].sort(), serverTypes, 'it sends every server frame, on its own or as a reply');
  for (const type of received.own) t.notOk(serverTypes.includes(type), `${type} is not also a server frame`);
});

t.test('every example is a valid frame of its message', async (t) => {
  const schemas = new Map([...members(protocol.ClientFrame), ...members(protocol.ServerFrame)].map((s) => [frameType(s), s]));
  for (const [type, message] of Object.entries(messages)) {
    t.ok(message.examples.length > 0, `${type} has examples`);
    for (const example of message.examples) t.ok(Value.Check(schemas.get(type)!, example.payload), `${type}: ${example.name}`);
  }
});

t.test('the close codes are the ones the notifier uses', async (t) => {
  t.same(doc.channels.notifications['x-close-codes'], { ...protocol.CloseCode });
  t.equal(doc.channels.notifications.address, '/ws/notifications/');
});

t.test('the document is valid AsyncAPI 3.0.0 (the official JSON Schema), and every reference resolves', async (t) => {
  t.equal(doc.asyncapi, '3.0.0');
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(specs.schemasWithoutId['3.0.0']);
  t.ok(validate(doc), 'valid against the AsyncAPI 3.0.0 schema');
  t.same(validate.errors ?? [], []);

  const refs: string[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        if (key === '$ref' && typeof v === 'string') refs.push(v);
        else collect(v);
      }
    }
  };
  collect(doc);
  t.ok(refs.length > 0);
  for (const ref of refs) {
    t.match(ref, /^#\//, `${ref} is local`);
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
    t.ok(target, `${ref} resolves`);
  }
  // An operation's messages, and its reply's, must be among its channel's (the spec's MUST).
  const channelMessages = Object.keys(doc.channels.notifications.messages).map((name) => `#/channels/notifications/messages/${name}`);
  for (const [id, op] of Object.entries(doc.operations) as Array<[string, { messages: Array<{ $ref: string }>; reply?: { messages: Array<{ $ref: string }> } }]>) {
    for (const ref of [...op.messages, ...(op.reply?.messages ?? [])]) t.ok(channelMessages.includes(ref.$ref), `${id}: ${ref.$ref}`);
  }
});

t.test('a document that breaks the AsyncAPI schema is refused by the same check', async (t) => {
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const validate = ajv.compile(specs.schemasWithoutId['3.0.0']);
  const broken = structuredClone(doc);
  broken.operations.subscribe.action = 'publish'; // AsyncAPI 2's word
  t.notOk(validate(broken));
});
