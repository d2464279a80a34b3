#!/bin/sh
# The service images' entrypoint: runs the command given (`python -m services.<name>`).
# A container may run as another uid than the image's user, e.g. the host's service
# user, to share a directory with it (the stream processor's checkpoint, written by
# Spark's executors on the host too). Java then needs that uid in the user database
# (Hadoop's login asks for the user's name): nss_wrapper lends it one, without
# making /etc/passwd writable.
if ! whoami >/dev/null 2>&1; then
    NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
    { cat /etc/passwd; echo "bigdata-$(id -u):x:$(id -u):$(id -g)::/tmp:/usr/sbin/nologin"; } >"$NSS_WRAPPER_PASSWD"
    { cat /etc/group; getent group "$(id -g)" >/dev/null || echo "bigdata-$(id -g):x:$(id -g):"; } >"$NSS_WRAPPER_GROUP"
    export LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP HOME=/tmp
fi
exec "$@"
