// The signers of tokens the services accept live with the launcher (`npm run dev-jwt` mints them at runtime).
export { serviceJwt, simpleJwtAccessToken } from '@parking-realtime/launcher';

/** A token with `alg: none` and no signature, which must never pass. */
export function unsignedJwt(payload: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.`;
}
