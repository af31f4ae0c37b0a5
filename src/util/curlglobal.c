/*
 * curlglobal.c: libcurl's global start, once (see curlglobal.h).
 */
#include "util/curlglobal.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode result = CURLE_FAILED_INIT;

static void init_once(void)
{
	result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ch_curlglobal_init(void)
{
	if (pthread_once(&once, init_once))
		return EIO;
	return result == CURLE_OK ? 0 : EIO;
}
