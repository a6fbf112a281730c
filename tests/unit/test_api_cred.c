/* Unit tests for api_cred: environment names, the file format, the 0600 rule, quiet errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_cred.h"
#include "check.h"
#include "util/log.h"

static char dir[] = "/tmp/test_api_cred.XXXXXX";

static const char *const names[] = {
    "RINGCENTRAL_SERVER_URL",    "RC_SERVER_URL",
    "RINGCENTRAL_CLIENT_ID",     "RC_APP_CLIENT_ID",
    "RINGCENTRAL_CLIENT_SECRET", "RC_APP_CLIENT_SECRET",
    "RINGCENTRAL_JWT_TOKEN",     "RC_USER_JWT",
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
    static char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
    return path;
}

static void test_env_primary_names(void)
{
    struct cred c;
    char err[256] = "";

    clear_env();
    setenv("RINGCENTRAL_SERVER_URL", "https://example.com/", 1);
    setenv("RINGCENTRAL_CLIENT_ID", "id1", 1);
    setenv("RINGCENTRAL_CLIENT_SECRET", "s3cr3t-env", 1);
    setenv("RINGCENTRAL_JWT_TOKEN", "jwt-env", 1);
    CHECK_INT(cred_load(&c, NULL, err, sizeof(err)), 0);
    CHECK_STR(c.server_url, "https://example.com");
    CHECK_STR(c.client_id, "id1");
    CHECK_STR(c.client_secret, "s3cr3t-env");
    CHECK_STR(c.jwt, "jwt-env");
    cred_free(&c);
    CHECK(c.jwt == NULL);
}

static void test_env_aliases_and_default(void)
{
    struct cred c;
    char err[256] = "";

    clear_env();
    setenv("RC_APP_CLIENT_ID", "id2", 1);
    setenv("RC_APP_CLIENT_SECRET", "sec2", 1);
    setenv("RC_USER_JWT", "jwt2", 1);
    CHECK_INT(cred_load(&c, NULL, err, sizeof(err)), 0);
    CHECK_STR(c.server_url, "https://platform.ringcentral.com");
    CHECK_STR(c.client_id, "id2");
    CHECK_STR(c.jwt, "jwt2");
    cred_free(&c);
    /* the SDK name wins over the docs' name */
    setenv("RINGCENTRAL_CLIENT_ID", "id-sdk", 1);
    setenv("RC_SERVER_URL", "http://127.0.0.1:9", 1);
    CHECK_INT(cred_load(&c, NULL, err, sizeof(err)), 0);
    CHECK_STR(c.client_id, "id-sdk");
    CHECK_STR(c.server_url, "http://127.0.0.1:9");
    cred_free(&c);
}

static void test_missing(void)
{
    struct cred c;
    char err[256] = "";

    clear_env();
    setenv("RINGCENTRAL_CLIENT_ID", "id", 1);
    setenv("RINGCENTRAL_CLIENT_SECRET", "TOPSECRET", 1);
    CHECK_INT(cred_load(&c, NULL, err, sizeof(err)), -EINVAL);
    CHECK_STR(err, "RINGCENTRAL_JWT_TOKEN is not set");
    CHECK(c.client_secret == NULL);
    CHECK(strstr(err, "TOPSECRET") == NULL);
}

static void test_file(void)
{
    struct cred c;
    char err[256] = "";
    const char *p;

    clear_env();
    setenv("RINGCENTRAL_CLIENT_ID", "from-env", 1);
    setenv("RINGCENTRAL_JWT_TOKEN", "jwt-from-env", 1);
    p = write_file("good",
                   "# credentials\n\n  RINGCENTRAL_SERVER_URL = http://localhost:8080/\n"
                   "RINGCENTRAL_CLIENT_ID=\"file id\"\r\n"
                   "RC_APP_CLIENT_SECRET='file secret'\n"
                   "SOMETHING_ELSE=ignored\n",
                   0600);
    CHECK_INT(cred_load(&c, p, err, sizeof(err)), 0);
    CHECK_STR(c.server_url, "http://localhost:8080");
    CHECK_STR(c.client_id, "file id"); /* the file wins */
    CHECK_STR(c.client_secret, "file secret");
    CHECK_STR(c.jwt, "jwt-from-env");
    cred_free(&c);
    p = write_file("strict", "RC_APP_CLIENT_ID=a\nRC_APP_CLIENT_SECRET=b\nRC_USER_JWT=c", 0400);
    CHECK_INT(cred_load(&c, p, err, sizeof(err)), 0);
    CHECK_STR(c.jwt, "c");
    cred_free(&c);
}

static void test_file_mode_and_type(void)
{
    struct cred c;
    char err[256] = "";
    const char *p;

    clear_env();
    p = write_file("open", "RINGCENTRAL_CLIENT_SECRET=SUPERSECRET\n", 0644);
    CHECK_INT(cred_load(&c, p, err, sizeof(err)), -EACCES);
    CHECK(strstr(err, "readable by others (mode 0644); chmod 600 it") != NULL);
    CHECK(strstr(err, "SUPERSECRET") == NULL);
    p = write_file("group", "RINGCENTRAL_CLIENT_SECRET=SUPERSECRET\n", 0640);
    CHECK_INT(cred_load(&c, p, err, sizeof(err)), -EACCES);
    CHECK(strstr(err, "0640") != NULL);
    CHECK_INT(cred_load(&c, dir, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "not a regular file") != NULL);
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/none", dir);
    CHECK_INT(cred_load(&c, missing, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, missing) != NULL);
    if (geteuid() == 0) {
        p = write_file("foreign", "RC_USER_JWT=x\n", 0600);
        CHECK(chown(p, 12345, 12345) == 0);
        CHECK_INT(cred_load(&c, p, err, sizeof(err)), -EACCES);
        CHECK(strstr(err, "owned by uid 12345") != NULL);
    }
}

static void test_bad_line_never_echoed(void)
{
    struct cred c;
    char err[256] = "";
    const char *p;

    clear_env();
    p = write_file("bad", "RC_APP_CLIENT_ID=a\nmy-secret-jwt-without-key\n", 0600);
    CHECK_INT(cred_load(&c, p, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "line 2") != NULL);
    CHECK(strstr(err, "my-secret") == NULL);
    CHECK(c.client_id == NULL);
    p = write_file("missing", "RC_APP_CLIENT_ID=a\nRC_APP_CLIENT_SECRET=b\n", 0600);
    CHECK_INT(cred_load(&c, p, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "RINGCENTRAL_JWT_TOKEN is not set") != NULL);
}

int main(void)
{
    log_init(false, false);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_env_primary_names);
    RUN(test_env_aliases_and_default);
    RUN(test_missing);
    RUN(test_file);
    RUN(test_file_mode_and_type);
    RUN(test_bad_line_never_echoed);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return CHECK_DONE();
}
