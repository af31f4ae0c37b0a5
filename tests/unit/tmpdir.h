/*
 * tmpdir.h: temporary folders for tests and fuzz targets (header only).
 *
 * ch_test_tmpdir() makes a fresh folder under $TMPDIR (default /tmp);
 * ch_test_rmtree() removes a folder and everything in it. Both abort on
 * failure: a test that cannot make its scratch space cannot run.
 */
#ifndef CH_TEST_TMPDIR_H
#define CH_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CH_TEST_DIR_MAX 256

/* Makes DIR/<prefix>-XXXXXX and writes its path into out. */
static inline void ch_test_tmpdir(char out[CH_TEST_DIR_MAX], const char *prefix)
{
	const char *base = getenv("TMPDIR");
	snprintf(out, CH_TEST_DIR_MAX, "%s/%s-XXXXXX",
	         base && *base ? base : "/tmp", prefix);
	if (!mkdtemp(out)) {
		perror("mkdtemp");
		abort();
	}
}

static inline int ch_test_rm_h(const char *path, const struct stat *sb,
                               int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Removes dir and its contents; a missing dir is not an error. */
static inline void ch_test_rmtree(const char *dir)
{
	if (access(dir, F_OK))
		return;
	if (nftw(dir, ch_test_rm_h, 16, FTW_DEPTH | FTW_PHYS)) {
		perror("nftw");
		abort();
	}
}

#endif
