/* Freestanding <string.h> for compiling P256-Cortex-M4 with clang (feature
   `p256-m4` of the benchmark only): memcpy/memset/memcmp come from Rust's
   compiler_builtins. */
#pragma once
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
