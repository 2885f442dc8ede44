# Sourced by run.sh: the guest's root, built once per digest and cached.
# A copy of the clean debootstrap root (test/fresh-machine/root.sh) that gets,
# from the Debian mirror through apt in a chroot, every package
# `appliance/scripts/setup.sh --packages` names plus Debian's kernel
# (linux-image-amd64, its modules) and kmod, and beside it what qemu boots:
# the kernel image and a tiny initramfs (static busybox from busybox-static,
# unpacked rather than installed because it conflicts with busybox, and the
# modules that mount the 9p root).
#
# xfrm_guest_root CACHE MIRROR REPO   sets XFRM_GUEST (a directory holding
#                                     root/, vmlinuz and initrd.gz)

xfrm_guest_root() {
  local cache=$1 mirror=$2 repo=$3
  local here packages digest guest
  here=$(dirname "${BASH_SOURCE[0]}")
  packages="$(bash "$repo/appliance/scripts/setup.sh" --packages) linux-image-amd64 kmod"
  # The key: what goes in and how it is made. A new key builds a new root.
  digest=$(cat "$here/guest-root.sh" "$here/init" <(echo "$packages") | sha256sum | cut -c1-16)
  guest=$cache/xfrm-guest-$digest
  XFRM_GUEST=$guest
  if [ -f "$guest/.complete" ]; then
    echo "xfrm: guest root $guest (cached)"
    return 0
  fi
  # a root whose packages went in (.packages-complete) is finished, not rebuilt
  if [ ! -f "$guest.tmp/.packages-complete" ]; then
    xfrm_guest_packages "$cache" "$mirror" "$guest.tmp" "$packages" || return 1
  fi
  local root=$guest.tmp/root kver
  kver=$(cat "$root/opt/xfrm-guest/kernel-version")
  cp "$root/boot/vmlinuz-$kver" "$guest.tmp/vmlinuz"
  # the initramfs: busybox, the modules in load order, and init
  local initramfs=$guest.tmp/initramfs
  rm -rf "$initramfs"
  mkdir -p "$initramfs/bin"
  cp "$root/opt/xfrm-guest/busybox" "$initramfs/bin/busybox"
  cp "$here/init" "$initramfs/init"
  chmod 755 "$initramfs/init"
  local m
  while read -r m; do
    install -D -m 644 "$root$m" "$initramfs$m"
    echo "$m" >> "$initramfs/modules"
  done < "$root/opt/xfrm-guest/modules"
  (cd "$initramfs" && find . | "$root/opt/xfrm-guest/busybox" cpio -o -H newc | gzip -1) > "$guest.tmp/initrd.gz"
  rm -rf "$initramfs" "$root/boot/initrd.img"*
  touch "$guest.tmp/.complete"
  # older guest roots (other digests) are replaced by this one
  local old
  for old in "$cache"/xfrm-guest-*; do
    case "$old" in "$guest.tmp"|"$guest.tmp.log") ;; *) [ -d "$old" ] && rm -rf --one-file-system "$old" ;; esac
  done
  mv "$guest.tmp" "$guest"
  mv "$guest.tmp.log" "$guest/build.log"
  echo "xfrm: guest root built: $guest ($(du -sh "$guest" | cut -f1))"
}

# The packages, installed by apt in a chroot (about 4 minutes).
xfrm_guest_packages() {
  local cache=$1 mirror=$2 tmp=$3 packages=$4
  fresh_root_base "$cache" "$mirror"
  echo "xfrm: building the guest root ${tmp%.tmp} (packages: $packages)"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp -a "$FRESH_BASE" "$tmp/root"
  fresh_root_machine "$tmp/root" "$mirror"
  local steps='apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
cd /tmp && apt-get download -qq busybox-static && dpkg-deb -x busybox-static_*.deb /tmp/bb
install -D -m 755 /tmp/bb/bin/busybox /opt/xfrm-guest/busybox
kver=$(ls /lib/modules | sort -V | tail -1)
echo "$kver" > /opt/xfrm-guest/kernel-version
# what mounts the root: virtio PCI, the 9p transport over virtio and 9p itself
modprobe -S "$kver" -a --show-depends virtio_pci 9pnet_virtio 9p | awk "\$1 == \"insmod\" && !seen[\$2]++ { print \$2 }" > /opt/xfrm-guest/modules
apt-get clean'
  if ! fresh_root_run "$tmp/root" "$steps" PACKAGES="$packages" > "$tmp.log" 2>&1; then
    tail -30 "$tmp.log" >&2
    echo "xfrm: FAILED to install the guest's packages (log $tmp.log)" >&2
    rm -rf "$tmp"
    return 1
  fi
  touch "$tmp/.packages-complete"
}
