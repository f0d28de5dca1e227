# parking-realtime/base-redis: Debian bookworm's redis-server (and redis-cli,
# for healthchecks), standing in for redis:8.0.1-alpine where that cannot be
# pulled. Used as that image is: `redis-server [options]` as the command, data
# in /data, port 6379.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
CMD ["redis-server"]
