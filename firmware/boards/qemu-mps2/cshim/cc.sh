#!/bin/sh
# C compiler for P256-Cortex-M4 (feature `p256-m4`, the board's P-256), set as
# CC_thumbv7em_none_eabihf in .cargo/config.toml: clang for C, with this
# directory's freestanding <string.h> (memcpy etc. come from
# compiler_builtins); for assembly, clang's preprocessor then GNU as, because
# clang's integrated assembler encodes the library's one-register `ldm` as
# LDM.W (UNPREDICTABLE, undefined on QEMU) where GNU as emits LDR.
# Needs clang (Debian: clang-14) and binutils-arm-none-eabi.
set -eu
here=$(dirname "$0")
CLANG=${TAMGA_CLANG:-$(command -v clang-14 || command -v clang || echo clang-14)}
set -- --target=thumbv7em-none-eabihf -ffreestanding -I"$here" "$@"
src=""; out=""; prev=""
for a in "$@"; do
    case "$prev" in -o) out=$a ;; esac
    case "$a" in *.S) src=$a ;; esac
    prev=$a
done
if [ -z "$src" ]; then
    exec "$CLANG" "$@"
fi
tmp=$(mktemp --suffix=.s)
trap 'rm -f "$tmp"' EXIT
flags=""; skip=""
for a in "$@"; do
    if [ -n "$skip" ]; then skip=""; continue; fi
    case "$a" in
        -o) skip=1 ;;
        -c|*.S) ;;
        *) flags="$flags $a" ;;
    esac
done
# shellcheck disable=SC2086
"$CLANG" $flags -E -P "$src" -o "$tmp"
exec arm-none-eabi-as -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard -o "$out" "$tmp"
