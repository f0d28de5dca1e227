-- Issues a WebSocket token: the token and its place in the user's index in
-- one command, so no live token is ever missing from the index that
-- revocation reads; one round trip where MULTI/SET/SADD/EXPIRE/EXEC cost five.
--
-- KEYS[1]  the token's key (ws_token_<sha256>)
-- KEYS[2]  the user's index of token hashes
-- ARGV[1]  the token record (JSON)
-- ARGV[2]  the token's hash
-- ARGV[3]  TTL (seconds), for the token and the index
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
