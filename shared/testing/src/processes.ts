// Ports, processes, readiness and the local Redis Cluster are the launcher's (`npm start` and the
// bench run on them too); tests take them from here, under the names they always had.
export {
  freePort,
  type NodeProcessOptions,
  REPO_ROOT,
  type RedisCluster as TestRedisCluster,
  type RedisClusterOptions as TestRedisClusterOptions,
  type ServiceName,
  type ServiceProcess,
  serviceScript,
  startNodeProcess,
  startRedisCluster,
  startService,
  waitFor,
} from '@parking-realtime/launcher';
