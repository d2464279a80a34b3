#!/usr/bin/env bash
# The project's minimal Debian base image, built with no registry:
# debootstrap a minbase root, trim it, and `docker import` it.
# Usage: build.sh IMAGE_TAG SUITE DEBIAN_MIRROR SECURITY_MIRROR
set -euo pipefail
tag="$1" suite="$2" mirror="$3" security="$4"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
SOURCES
# Images stay small: no cached packages or lists, no docs or man pages later either.
cat >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'NODOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
NODOC
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/01-norecommends"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
# postinst scripts (e.g. openjdk's update-alternatives) expect this directory to exist
mkdir -p "$root/usr/share/man/man1"
tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
