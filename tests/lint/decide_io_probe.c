/*
 * tests/lint/decide_io_probe.c — compiled under myorch_decide's rules by lint.decide_no_io:
 * every I/O library header must fail to compile there. Keep the list in step with
 * DECIDE_FORBIDDEN_HEADERS in CMakeLists.txt (the lint checks each header's error).
 */
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <zmq.h>
#include <sqlite3.h>
#include <microhttpd.h>
#include <ini.h>
#include <systemd/sd-daemon.h>
#include <pthread.h>

int decide_io_probe(void);
int decide_io_probe(void) { return 0; }
