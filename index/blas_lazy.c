/*
 * blas_lazy.c - the BLAS and LAPACK routines FAISS calls, loaded on first use.
 *
 * Why: Debian's FAISS is a static library that calls thirteen Fortran routines (sgemm_, ...).
 * Linking libblas and liblapack the usual way loads OpenBLAS into every pare process, and
 * OpenBLAS asks the dynamic loader for about 16,000 symbol relocations (its per-CPU function
 * tables) before main: about 60% of pare's start-up, in every command, although the default
 * index (postings) and mining never call BLAS. So pare defines those routines itself; each one
 * loads libblas.so.3 or liblapack.so.3 once (dlopen, under pthread_once) and jumps to the real
 * routine. The libraries are the same ones the linker would have used (Debian's alternatives);
 * only the moment they are loaded changes.
 *
 * FAISS declares the routines with the reference BLAS/LAPACK argument lists and no hidden
 * string lengths, every argument a pointer, and ignores what they return; each wrapper takes
 * and passes on exactly those arguments.
 *
 * If a library cannot be loaded, there is no way to report it through FAISS: pare says so and
 * aborts, as the loader would have refused to start it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A routine and where it lives. */
struct routine {
    const char *name;
    int lapack; /* 0: libblas.so.3, 1: liblapack.so.3 */
    void *sym;
};

enum {
    R_SGEMM,
    R_DGEMM,
    R_SSYRK,
    R_SGESVD,
    R_DGESVD,
    R_SGETRF,
    R_DGETRF,
    R_SGETRI,
    R_DGETRI,
    R_DSYEV,
    R_SGELSD,
    R_SGEQRF,
    R_SORGQR,
    R_COUNT
};

static struct routine routines[R_COUNT] = {
    [R_SGEMM] = {"sgemm_", 0, NULL},   [R_DGEMM] = {"dgemm_", 0, NULL},
    [R_SSYRK] = {"ssyrk_", 0, NULL},   [R_SGESVD] = {"sgesvd_", 1, NULL},
    [R_DGESVD] = {"dgesvd_", 1, NULL}, [R_SGETRF] = {"sgetrf_", 1, NULL},
    [R_DGETRF] = {"dgetrf_", 1, NULL}, [R_SGETRI] = {"sgetri_", 1, NULL},
    [R_DGETRI] = {"dgetri_", 1, NULL}, [R_DSYEV] = {"dsyev_", 1, NULL},
    [R_SGELSD] = {"sgelsd_", 1, NULL}, [R_SGEQRF] = {"sgeqrf_", 1, NULL},
    [R_SORGQR] = {"sorgqr_", 1, NULL},
};

static pthread_once_t loaded = PTHREAD_ONCE_INIT;

/* Loads both libraries and finds every routine; aborts with a message when one is missing. */
static void load_all(void)
{
    static const char *const libs[2] = {"libblas.so.3", "liblapack.so.3"};
    void *h[2];
    for (int i = 0; i < 2; i++) {
        h[i] = dlopen(libs[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h[i]) {
            fprintf(stderr, "pare: cannot load %s for FAISS: %s\n", libs[i], dlerror());
            abort();
        }
    }
    for (int r = 0; r < R_COUNT; r++) {
        routines[r].sym = dlsym(h[routines[r].lapack], routines[r].name);
        if (!routines[r].sym) {
            fprintf(stderr, "pare: %s has no %s: %s\n", libs[routines[r].lapack], routines[r].name,
                    dlerror());
            abort();
        }
    }
}

/* The address of the real routine r, loaded on the first call of any. */
static void *real(int r)
{
    pthread_once(&loaded, load_all);
    return routines[r].sym;
}

/* Wrappers of n pointer arguments (FAISS's declarations), named after the routine; the
 * address dlsym gives is copied into a function pointer (ISO C has no cast between them). */
#define P void *
#define WRAP6(name, r)                                                                             \
    int name(P a, P b, P c, P d, P e, P f);                                                        \
    int name(P a, P b, P c, P d, P e, P f)                                                         \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P);                                                               \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f);                                                               \
    }
#define WRAP7(name, r)                                                                             \
    int name(P a, P b, P c, P d, P e, P f, P g);                                                   \
    int name(P a, P b, P c, P d, P e, P f, P g)                                                    \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P, P);                                                            \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f, g);                                                            \
    }
#define WRAP8(name, r)                                                                             \
    int name(P a, P b, P c, P d, P e, P f, P g, P h);                                              \
    int name(P a, P b, P c, P d, P e, P f, P g, P h)                                               \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P, P, P);                                                         \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f, g, h);                                                         \
    }
#define WRAP9(name, r)                                                                             \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i);                                         \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i)                                          \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P, P, P, P);                                                      \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f, g, h, i);                                                      \
    }
#define WRAP10(name, r)                                                                            \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i, P j);                                    \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i, P j)                                     \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P, P, P, P, P);                                                   \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f, g, h, i, j);                                                   \
    }
#define WRAP13(name, r)                                                                            \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i, P j, P k, P l, P m);                     \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i, P j, P k, P l, P m)                      \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P, P, P, P, P, P, P, P);                                          \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f, g, h, i, j, k, l, m);                                          \
    }
#define WRAP14(name, r)                                                                            \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i, P j, P k, P l, P m, P n);                \
    int name(P a, P b, P c, P d, P e, P f, P g, P h, P i, P j, P k, P l, P m, P n)                 \
    {                                                                                              \
        int (*fn)(P, P, P, P, P, P, P, P, P, P, P, P, P, P);                                       \
        void *sym = real(r);                                                                       \
        memcpy(&fn, &sym, sizeof fn);                                                              \
        return fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n);                                       \
    }

/* transa transb m n k alpha a lda b ldb beta c ldc */
WRAP13(sgemm_, R_SGEMM)
WRAP13(dgemm_, R_DGEMM)
/* uplo trans n k alpha a lda beta c ldc */
WRAP10(ssyrk_, R_SSYRK)
/* jobu jobvt m n a lda s u ldu vt ldvt work lwork info */
WRAP14(sgesvd_, R_SGESVD)
WRAP14(dgesvd_, R_DGESVD)
/* m n a lda ipiv info */
WRAP6(sgetrf_, R_SGETRF)
WRAP6(dgetrf_, R_DGETRF)
/* n a lda ipiv work lwork info */
WRAP7(sgetri_, R_SGETRI)
WRAP7(dgetri_, R_DGETRI)
/* jobz uplo n a lda w work lwork info */
WRAP9(dsyev_, R_DSYEV)
/* m n nrhs a lda b ldb s rcond rank work lwork iwork info */
WRAP14(sgelsd_, R_SGELSD)
/* m n a lda tau work lwork info */
WRAP8(sgeqrf_, R_SGEQRF)
/* m n k a lda tau work lwork info */
WRAP9(sorgqr_, R_SORGQR)
