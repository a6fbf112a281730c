/*
 * wipecheck — an LD_PRELOAD allocator shim that finds secrets left in freed
 * memory, for the REST client's tests (tests/api: test_no_secret_left_in_freed_memory).
 *
 *   WIPECHECK_OUT=FILE LD_PRELOAD=.../libwipecheck.so rcapi ...
 *
 * Every block is zeroed when allocated, so what a block holds when it is
 * freed was written during its life.  When a block is freed (or left behind
 * by realloc, which here always moves) by rcfs's own code (the main
 * executable), json-c or the C library, every run of 20 or more characters
 * of [A-Za-z0-9_+/-] in it (tokens, the client secret, the JWT's parts and
 * base64 values are such runs, ended by quotes, spaces, '=', '&' or '.') is
 * hashed (FNV-1a 64) and remembered with the caller's address.  At exit the
 * hashes go to WIPECHECK_OUT, one "hash object+offset" line each; the test
 * hashes every substring of 20 or more characters of every secret and fails
 * on any match.  No secret is ever written anywhere: only hashes.
 * libcurl's and the TLS libraries' frees are not looked at: their buffers
 * are out of rcfs's reach (see api/api_secret.h).
 *
 * Built only without sanitizers (they bring their own allocator).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

#define MIN_RUN 20
#define SLOTS   (1u << 20) /* hash table entries (16 MiB, mmapped) */
#define RANGES  8

struct hit {
    uint64_t hash;    /* FNV-1a 64 of the run, 0 = empty slot */
    uintptr_t caller; /* who freed the block */
};

struct range {
    uintptr_t lo, hi; /* a watched object's loaded segments */
};

static struct hit *table;
static struct range ranges[RANGES];
static int nranges;
static bool ready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Objects whose frees are watched: the main program, json-c, the C library. */
static bool watched_name(const char *name)
{
    return !name[0] || strstr(name, "libjson-c") || strstr(name, "/libc.so");
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (!watched_name(info->dlpi_name))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && nranges < RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
            ranges[nranges].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            nranges++;
        }
    }
    return 0;
}

__attribute__((constructor)) static void wc_init(void)
{
    void *m = mmap(NULL, SLOTS * sizeof(struct hit), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return;
    table = m;
    dl_iterate_phdr(add_object, NULL);
    ready = true;
}

static bool watched(uintptr_t caller)
{
    for (int i = 0; i < nranges; i++)
        if (caller >= ranges[i].lo && caller < ranges[i].hi)
            return true;
    return false;
}

static bool run_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '+' || c == '/';
}

static void remember(uint64_t h, uintptr_t caller)
{
    size_t i = (size_t)(h & (SLOTS - 1));

    if (h == 0)
        h = 1;
    pthread_mutex_lock(&lock);
    for (size_t k = 0; k < SLOTS; k++, i = (i + 1) & (SLOTS - 1)) {
        if (table[i].hash == h && table[i].caller == caller)
            break;
        if (table[i].hash == 0) {
            table[i].hash = h;
            table[i].caller = caller;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

static void scan(const unsigned char *p, size_t n, uintptr_t caller)
{
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && run_char(p[j]))
            j++;
        if (j - i >= MIN_RUN) {
            uint64_t h = 0xcbf29ce484222325ULL;
            for (size_t k = i; k < j; k++)
                h = (h ^ p[k]) * 0x100000001b3ULL;
            remember(h, caller);
        }
        i = j + 1;
    }
}

static void check_free(void *p, uintptr_t caller)
{
    if (p && ready && watched(caller))
        scan(p, malloc_usable_size(p), caller);
    __libc_free(p);
}

static void *zeroed(void *p)
{
    if (p)
        memset(p, 0, malloc_usable_size(p));
    return p;
}

void *malloc(size_t n)
{
    return zeroed(__libc_malloc(n));
}

void *calloc(size_t n, size_t m)
{
    return zeroed(__libc_calloc(n, m));
}

void free(void *p)
{
    check_free(p, (uintptr_t)__builtin_return_address(0));
}

/* Always moves, so a block left behind is looked at like any freed one. */
void *realloc(void *p, size_t n)
{
    uintptr_t caller = (uintptr_t)__builtin_return_address(0);
    void *q;
    size_t old;

    if (!p)
        return malloc(n);
    if (n == 0) {
        check_free(p, caller);
        return NULL;
    }
    q = malloc(n);
    if (!q)
        return NULL;
    old = malloc_usable_size(p);
    memcpy(q, p, old < n ? old : n);
    check_free(p, caller);
    return q;
}

void *reallocarray(void *p, size_t n, size_t m)
{
    if (m && n > SIZE_MAX / m)
        return NULL;
    return realloc(p, n * m);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = zeroed(__libc_memalign(align, n));

    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    return zeroed(__libc_memalign(align, n));
}

void *memalign(size_t align, size_t n)
{
    return zeroed(__libc_memalign(align, n));
}

__attribute__((destructor)) static void wc_report(void)
{
    const char *out = getenv("WIPECHECK_OUT");
    char line[96];
    int fd;

    if (!ready || !out)
        return;
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    for (size_t i = 0; i < SLOTS; i++) {
        Dl_info di;
        if (!table[i].hash)
            continue;
        const char *obj = "?";
        uintptr_t off = table[i].caller;
        if (dladdr((void *)table[i].caller, &di) && di.dli_fname) {
            obj = strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname;
            off -= (uintptr_t)di.dli_fbase;
        }
        int n = snprintf(line, sizeof(line), "%016llx %s+0x%llx\n",
                         (unsigned long long)table[i].hash, obj, (unsigned long long)off);
        if (n > 0 && write(fd, line, (size_t)n) < 0)
            break;
    }
    close(fd);
}
