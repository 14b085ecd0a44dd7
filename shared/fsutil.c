#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fs_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int fd = -1, rc = ERR_IO;
    struct stat st;
    uint8_t *data = NULL;
    size_t got = 0;

    *buf = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        err_set(ERR_IO, "%s is not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > max) {
        rc = err_set(ERR_TOOBIG, "%s is %lld bytes, over the limit of %zu",
                     path, (long long)st.st_size, max);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        rc = err_set(ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err_set(ERR_IO, "cannot read %s: %s", path,
                    n < 0 ? strerror(errno) : "file shrank while read");
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    *buf = data;
    *len = got;
    data = NULL;
    rc = ERR_OK;
out:
    free(data);
    close(fd);
    return rc;
}

static int
s_fsync_dir(const char *path)
{
    char copy[PATH_MAX];
    int fd, rc = 0;

    snprintf(copy, sizeof(copy), "%s", path);
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fsync(fd) < 0 && errno != EINVAL)
        rc = -1;
    close(fd);
    return rc;
}

static int
s_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
fs_write_durable(const char *path, const void *buf, size_t len, mode_t mode,
                 int keep_previous)
{
    char tmp[PATH_MAX], prev[PATH_MAX];
    int fd = -1, rc = ERR_IO;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
            (int)sizeof(tmp) ||
        snprintf(prev, sizeof(prev), "%s.prev", path) >= (int)sizeof(prev))
        return err_set(ERR_ARG, "path too long: %s", path);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return err_set(ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    /* open() honours the umask; the mode asked for is the one we want. */
    if (fchmod(fd, mode) < 0 || s_write_all(fd, buf, len) < 0 ||
        fsync(fd) < 0) {
        err_set(ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        err_set(ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (keep_previous && access(path, F_OK) == 0) {
        unlink(prev);
        if (link(path, prev) < 0) {
            err_set(ERR_IO, "cannot keep %s as %s: %s", path, prev,
                    strerror(errno));
            goto out;
        }
    }
    if (rename(tmp, path) < 0) {
        err_set(ERR_IO, "cannot rename %s to %s: %s", tmp, path,
                strerror(errno));
        goto out;
    }
    if (s_fsync_dir(path) < 0) {
        /* The file is in place; only its durability is in doubt. */
        err_set(ERR_IO, "cannot fsync the folder of %s: %s", path,
                strerror(errno));
        return ERR_IO;
    }
    return ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int
fs_check_private(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        return err_set(errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
                       "cannot stat %s: %s", path, strerror(errno));
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        return err_set(ERR_PERM,
                       "%s holds a secret but its mode is %04o, readable by "
                       "others; run: chmod 600 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    }
    return ERR_OK;
}

int
fs_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len;

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return err_set(ERR_ARG, "path too long: %s", path);
    len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return err_set(ERR_IO, "cannot create folder %s: %s", buf,
                           strerror(errno));
        buf[i] = c;
    }
    return ERR_OK;
}

int
fs_exists(const char *path)
{
    return access(path, F_OK) == 0;
}
