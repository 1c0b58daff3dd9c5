// LD_PRELOAD shim for the webhook benchmark (BENCH_SLOW_FSYNC_US): every fsync and fdatasync
// of the process sleeps SLOW_FSYNC_US microseconds before the real one, as a slow disk (a
// network-attached volume) would make it wait. SQLite's commits call fdatasync through libc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
static int delay_us(void) { const char *v = getenv("SLOW_FSYNC_US"); return v ? atoi(v) : 2000; }
int fsync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fsync"); usleep(delay_us()); return real(fd); }
int fdatasync(int fd) { static int (*real)(int); if (!real) real = dlsym(RTLD_NEXT, "fdatasync"); usleep(delay_us()); return real(fd); }
