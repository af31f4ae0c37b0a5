/*
 * store_open.c: picks the store backend a `store` setting names (SQLite
 * by default, PostgreSQL for a postgres:// URI) and closes any store.
 */
#include "store/store.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

int ch_store_url_is_pg(const char *url)
{
	return url && (!strncmp(url, "postgres://", 11) ||
	               !strncmp(url, "postgresql://", 13));
}

int ch_store_open(struct ch_store **stp, const char *url, const char *data_dir,
                  unsigned flags)
{
	if (!url || !*url || !strcmp(url, "sqlite"))
		return ch_store_open_sqlite_flags(stp, data_dir, flags);
	if (ch_store_url_is_pg(url))
		return ch_store_open_pg(stp, url);
	ch_log_error("store",
	             "store must be sqlite or a postgres:// URI, not \"%.40s\"",
	             url);
	return EINVAL;
}

void ch_store_close(struct ch_store *st)
{
	if (st)
		st->ops->close(st);
}
