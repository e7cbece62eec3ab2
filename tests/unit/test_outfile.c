/* test_outfile.c - output files: nothing visible until finished, old files replaced whole,
 * leftovers of killed commands removed. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "helpers.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/outfile.h"
#include "common/util.h"

/* A fresh empty folder; caller frees. */
static char *fresh_dir(void)
{
    char *d = tmp_path("outfile-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

/* The names in dir other than "." and "..", joined by spaces, in sorted order. */
static char *listing(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    struct sbuf s = {0};
    sbuf_addf(&s, "%s", "");
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
            sbuf_addf(&s, "%s%s", s.len ? " " : "", names[i]->d_name);
        free(names[i]);
    }
    free(names);
    return sbuf_detach(&s);
}

static char *join(const char *dir, const char *name)
{
    struct sbuf s = {0};
    sbuf_addf(&s, "%s/%s", dir, name);
    return sbuf_detach(&s);
}

static void remove_all(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char *p = join(dir, names[i]->d_name);
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) unlink(p);
        free(p);
        free(names[i]);
    }
    free(names);
    rmdir(dir);
}

static void test_nothing_visible_until_kept(void **state)
{
    (void)state;
    char *dir = fresh_dir(), *out = join(dir, "rows.jsonl");
    struct outfile o;
    struct sbuf err = {0};
    assert_int_equal(outfile_open(&o, out, &err), PARE_OK);
    fputs("{\"a\":1}\n", o.f);
    fflush(o.f);
    char *during = listing(dir);
    assert_string_equal(during, ""); /* an unnamed file: a SIGKILL here leaves nothing */
    assert_int_equal(outfile_close(&o, 1, &err), PARE_OK);
    char *after = listing(dir);
    assert_string_equal(after, "rows.jsonl");
    FILE *f = fopen(out, "r");
    char line[32] = {0};
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "{\"a\":1}\n");
    free(during);
    free(after);
    remove_all(dir);
    free(out);
    free(dir);
    sbuf_free(&err);
}

static void test_not_kept_leaves_the_old_file(void **state)
{
    (void)state;
    char *dir = fresh_dir(), *out = join(dir, "old.json");
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    assert_int_equal(chmod(out, 0640), 0);
    struct outfile o;
    struct sbuf err = {0};
    assert_int_equal(outfile_open(&o, out, &err), PARE_OK);
    fputs("half", o.f);
    assert_int_equal(outfile_close(&o, 0, &err), PARE_OK);
    char *names = listing(dir);
    assert_string_equal(names, "old.json");
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_size, 4);
    /* kept: replaced whole, with the old file's mode */
    assert_int_equal(outfile_open(&o, out, &err), PARE_OK);
    fputs("new!!\n", o.f);
    assert_int_equal(outfile_close(&o, 1, &err), PARE_OK);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_size, 6);
    assert_int_equal(st.st_mode & 0777, 0640);
    free(names);
    remove_all(dir);
    free(out);
    free(dir);
    sbuf_free(&err);
}

/* The pid of a process that has ended. */
static long dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) _exit(0);
    int status;
    assert_int_equal(waitpid(p, &status, 0), p);
    return (long)p;
}

static void test_leftovers_of_dead_processes_are_removed(void **state)
{
    (void)state;
    char *dir = fresh_dir(), *out = join(dir, "t.json");
    struct sbuf dead = {0}, live = {0}, other = {0};
    sbuf_addf(&dead, "%s/.t.json.tmp.%ld", dir, dead_pid());
    sbuf_addf(&live, "%s/.t.json.tmp.%ld", dir, (long)getppid()); /* our parent runs */
    sbuf_addf(&other, "%s/.u.json.tmp.%ld", dir, dead_pid());     /* another file's */
    const char *make[] = {dead.p, live.p, other.p};
    for (size_t i = 0; i < ARRAY_SIZE(make); i++) {
        FILE *f = fopen(make[i], "w");
        assert_non_null(f);
        fclose(f);
    }
    struct outfile o;
    struct sbuf err = {0};
    assert_int_equal(outfile_open(&o, out, &err), PARE_OK);
    assert_int_equal(outfile_close(&o, 1, &err), PARE_OK);
    assert_int_equal(access(dead.p, F_OK), -1);
    assert_int_equal(access(live.p, F_OK), 0);
    assert_int_equal(access(other.p, F_OK), 0);
    assert_int_equal(access(out, F_OK), 0);
    remove_all(dir);
    sbuf_free(&dead);
    sbuf_free(&live);
    sbuf_free(&other);
    sbuf_free(&err);
    free(out);
    free(dir);
}

static void test_missing_folder_is_an_error_naming_the_file(void **state)
{
    (void)state;
    struct outfile o;
    struct sbuf err = {0};
    assert_int_equal(outfile_open(&o, "/nonexistent-pare-dir/x.jsonl", &err), PARE_EFAIL);
    assert_contains(err.p, "/nonexistent-pare-dir/x.jsonl");
    sbuf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_visible_until_kept),
        cmocka_unit_test(test_not_kept_leaves_the_old_file),
        cmocka_unit_test(test_leftovers_of_dead_processes_are_removed),
        cmocka_unit_test(test_missing_folder_is_an_error_naming_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
