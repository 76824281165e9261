#!/usr/bin/env bash
# Image build benchmark: a cold generic Debian 12 base (debootstrap from the mirror in /etc/apt), then the role in
# roles/web.yaml built from the cached base, built again unchanged, and built with one changed file.
#
#   sudo bench/images/run.sh [WORKDIR]     (default /var/tmp/pxe-images-bench; needs root, network to the mirror,
#                                           debootstrap, e2fsprogs, dosfstools, mtools, fdisk, qemu-utils, systemd-boot-efi)
#
# Prints a markdown table; RESULTS.md holds the figures measured on the development machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-/var/tmp/pxe-images-bench}"
mkdir -p "$work"
dotnet run -c Release --project "$here/Pxe.Images.Bench" -- "$work" "$here/roles/web.yaml"
