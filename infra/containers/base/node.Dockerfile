# parking-realtime/base-node: Debian bookworm with this machine's node and npm,
# standing in for node:22-bookworm-slim where that cannot be pulled. The build
# context (made by base-images.sh) holds node, npm/ and ca-certificates.crt.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# The machine's CA bundle: without it, npm inside a build cannot get through a
# TLS-intercepting proxy of the machine's network.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
# As the official image: npm and npx on PATH, a `node` user and group with id 1000.
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && echo 'node:x:1000:' >>/etc/group \
 && echo 'node:x:1000:1000::/home/node:/bin/sh' >>/etc/passwd \
 && mkdir -p /home/node && chown 1000:1000 /home/node \
 && node --version && npm --version
CMD ["node"]
