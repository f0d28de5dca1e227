# parking-realtime/base-nginx: Debian bookworm's nginx (1.22), standing in for
# nginx:1.28-alpine where that cannot be pulled. wget for healthchecks, as the
# official image has it. The edge stage of infra/Dockerfile brings its own
# entrypoint, so this needs none of the official image's.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx wget \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
