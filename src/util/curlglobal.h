/*
 * curlglobal.h: libcurl's process-wide start (curl_global_init), done
 * once whichever service needs curl first (webhook sender, player).
 * Thread-safe.
 */
#ifndef CH_CURLGLOBAL_H
#define CH_CURLGLOBAL_H

/* Initialises libcurl once per process. 0, or EIO if libcurl failed. */
int ch_curlglobal_init(void);

#endif
