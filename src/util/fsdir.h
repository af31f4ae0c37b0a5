/*
 * fsdir.h: making folders (mkdir -p). Thread-safe, no state.
 */
#ifndef CH_FSDIR_H
#define CH_FSDIR_H

#include <sys/types.h>

/* Makes dir and its missing parents with mode (folders that exist are
 * left as they are). 0, ENOTDIR if dir exists and is not a folder,
 * ENAMETOOLONG, or the errno of mkdir. */
int ch_fsdir_make(const char *dir, mode_t mode);

#endif
