#!/bin/bash
# Builds a local Debian 12 base image with debootstrap and tags it with the
# name deploy/Dockerfile starts FROM, for machines that cannot pull the
# official image. The packages come from the Debian mirror this machine's
# apt is configured with (/etc/apt/sources.list and
# /etc/apt/sources.list.d/*.sources); no host is named here.
#
#   tests/docker/base-image.sh [TAG]     default TAG: debian:12
#
# Does nothing when TAG already exists (delete the image to rebuild it).
# Needs root (debootstrap) and installs debootstrap when it is missing.
set -euo pipefail

tag=${1:-debian:12}
suite=bookworm

if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base-image: $tag exists, kept"
    exit 0
fi

# Prints "URI SUITE" for each Debian bookworm entry of the apt sources,
# one-line format and deb822 format alike.
apt_entries() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
            awk '$1 == "deb" && $3 ~ /^'"$suite"'/ { print $2, $3 }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v want="$suite" '
            function flush(  i, j, nu, ns, u, s) {
                if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                    nu = split(uris, u, " "); ns = split(suites, s, " ")
                    for (i = 1; i <= nu; i++)
                        for (j = 1; j <= ns; j++)
                            if (index(s[j], want) == 1) print u[i], s[j]
                }
                types = uris = suites = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { key = tolower($1); sub(/^[^:]*:[ \t]*/, "") }
            key == "types:" { types = $0 }
            key == "uris:" { uris = $0 }
            key == "suites:" { suites = $0 }
            key == "enabled:" { enabled = tolower($0) }
            END { flush() }' "$f"
    done
}

entries=$(apt_entries | awk '!seen[$0]++')
mirror=$(echo "$entries" | awk -v s="$suite" '$2 == s { print $1; exit }')
if [ -z "$mirror" ]; then
    echo "base-image: no Debian $suite entry in this machine's apt sources" \
        "(/etc/apt/sources.list, /etc/apt/sources.list.d/); cannot build" \
        "$tag" >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "base-image: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap \
        >/dev/null
fi

work=$(mktemp -d /tmp/itl-base-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "base-image: debootstrap $suite (minbase) from the configured mirror"
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" \
    > "$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    echo "base-image: debootstrap failed; see the lines above" >&2
    exit 1
fi

# The same apt entries as the machine (bookworm, -updates, -security), main
# only; apt-get inside the build stage uses them.
echo "$entries" | awk '{ print "deb", $1, $2, "main" }' \
    > "$root/etc/apt/sources.list"
# Like the official image: no caches, no docs in layers built on it.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
: > "$root/etc/hostname"
: > "$root/etc/resolv.conf"

tar -C "$root" -c . | docker import \
    -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -m "debootstrap $suite minbase" - "$tag" >/dev/null
echo "base-image: $tag built ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
