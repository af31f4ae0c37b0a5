/*
 * fsdir.c: mkdir -p (see fsdir.h).
 */
#include "util/fsdir.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

int ch_fsdir_make(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);
	struct stat st;

	if (n >= sizeof(buf))
		return ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return errno;
		buf[i] = i == n ? '\0' : '/';
	}
	if (stat(dir, &st))
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}
