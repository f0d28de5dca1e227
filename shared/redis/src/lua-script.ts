import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis.js';

/**
 * A Lua script kept in its own `.lua` file beside the module that runs it
 * (its header says what KEYS and ARGV hold), read once when that module is
 * imported. The build copies `.lua` files next to the compiled modules.
 */
export class LuaScript {
  readonly lua: string;

  constructor(
    /** The command name ioredis gives the script on a connection. */
    readonly name: string,
    file: URL,
    /** Fixed number of keys, when the script has one (the caller then passes keys without a count). */
    private readonly numberOfKeys?: number,
  ) {
    this.lua = readFileSync(file, 'utf8');
  }

  /**
   * Defines the script on a connection, once per connection; ioredis then
   * runs it by EVALSHA, falling back to EVAL after a Redis restart. Do it
   * before the connection carries commands (where the app is built), never
   * on first use: on an auto-pipelining connection, a script defined in a
   * turn whose pipeline already holds a command makes ioredis 5 throw out of
   * its reply handling, which ends the process (redis/ioredis#1931).
   */
  defineOn<R extends RedisClient>(redis: R): R {
    if (!this.isDefinedOn(redis)) redis.defineCommand(this.name, this.numberOfKeys === undefined ? { lua: this.lua } : { lua: this.lua, numberOfKeys: this.numberOfKeys });
    return redis;
  }

  isDefinedOn(redis: RedisClient): boolean {
    return this.name in redis;
  }
}
